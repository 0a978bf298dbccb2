"""Read what the pipeline wrote to a lake back as one Arrow table (tests only)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow

    from pipelines.platform.storage import Storage


def read_parquet(store: Storage, keys: list[str]) -> pyarrow.Table:
    """The rows of ``keys`` as one table whose schema is the union of the files' schemas.

    Files written at different times may have gained columns or widened types; unifying reads
    them all (missing columns read as null). Objects are downloaded first.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    if not keys:
        raise ValueError(f"No Parquet keys given to read from {store.uri}.")
    with tempfile.TemporaryDirectory(prefix="sentra-parquet-") as folder:
        paths = [Path(folder, f"{number}.parquet") for number in range(len(keys))]
        store.download_many(list(zip(keys, paths, strict=True)))
        schemas = [ds.dataset(path, format="parquet").schema for path in paths]
        try:
            schema = pa.unify_schemas(schemas, promote_options="permissive")
        except (pa.ArrowTypeError, pa.ArrowInvalid) as err:
            raise ValueError(f"Parquet files {keys} have incompatible schemas ({err})") from err
        return ds.dataset([str(path) for path in paths], schema, format="parquet").to_table()
