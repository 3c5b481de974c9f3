// Appended to a copy of a built book page by tests/helpers/book.py: once mermaid has drawn every diagram
// (and sphinxcontrib-mermaid has wrapped each one in its container), record how large each diagram's text
// is on screen, and whether a diagram wider than its column can be scrolled, as JSON in an attribute of
// <html> that `chromium --dump-dom` returns.
(() => {
  const deadline = Date.now() + 4000;  // virtual time: --virtual-time-budget advances it

  const ready = (pres) => pres.length > 0 && pres.every((pre) =>
    pre.getAttribute("data-processed") === "true" && pre.querySelector("svg") &&
    pre.parentElement.classList.contains("mermaid-container"));

  const fontPx = (el) => parseFloat(getComputedStyle(el).fontSize);

  const measure = (pre, index) => {
    const svg = pre.querySelector("svg");
    const box = svg.viewBox.baseVal;
    const rect = svg.getBoundingClientRect();
    // preserveAspectRatio "meet": the drawing is scaled by the smaller of the two ratios.
    const scale = Math.min(rect.width / box.width, rect.height / box.height);
    // Text of nodes and edge labels: HTML labels (foreignObject) or plain SVG <text>.
    const labels = [...svg.querySelectorAll(".nodeLabel, .edgeLabel, text")]
      .filter((el) => el.textContent.trim() && !el.querySelector(".nodeLabel, .edgeLabel, text"));
    const sizes = labels.map((el) => ({text: el.textContent.trim().slice(0, 60), px: fontPx(el) * scale}));
    sizes.sort((a, b) => a.px - b.px);
    const article = pre.closest("article") || document.body;
    const column = article.getBoundingClientRect();
    const style = getComputedStyle(pre);
    const preRect = pre.getBoundingClientRect();
    return {
      index,
      heading: (() => {  // the section the diagram sits in, to name it in a failure
        const section = pre.closest("section");
        const h = section && section.querySelector("h1, h2, h3, h4");
        return h ? h.textContent.replace(/[#¶]/g, "").trim() : "";
      })(),
      source: (pre.getAttribute("data-original-code") || "").trim().split("\n")[0],
      viewBox: [box.width, box.height],
      rendered: [rect.width, rect.height],
      scale,
      labels: sizes.length,
      smallest: sizes[0] || null,
      column: [column.left, column.right],
      box: [preRect.left, preRect.right],
      top: preRect.top + window.scrollY,
      bottom: preRect.bottom + window.scrollY,
      overflowX: style.overflowX,
      scrollWidth: pre.scrollWidth,
      clientWidth: pre.clientWidth,
    };
  };

  const finish = () => {
    const pres = [...document.querySelectorAll("pre.mermaid")];
    const report = {ready: ready(pres), viewport: window.innerWidth, diagrams: pres.map(measure)};
    document.documentElement.setAttribute("data-tito-diagrams", JSON.stringify(report));
  };

  const poll = () => {
    if (!ready([...document.querySelectorAll("pre.mermaid")]) && Date.now() < deadline) {
      setTimeout(poll, 100);
    } else {
      finish();
    }
  };
  window.addEventListener("load", () => setTimeout(poll, 100));
})();
