// Draws every chart of the page from the figure JSON in its data-figure attribute.
document.querySelectorAll("[data-figure]").forEach(element => {
  const figure = JSON.parse(element.dataset.figure);
  Plotly.newPlot(element, figure.data, figure.layout, {displaylogo: false, responsive: true});
});
