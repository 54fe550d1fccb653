// Small bar charts on a canvas: grouped bars, a value axis and a legend. Enough for the
// report's activity, coin flow and match completion; no library.

const PAD = { left: 48, right: 12, top: 28, bottom: 46 };

/** The axis top: four ticks of 1, 2, 2.5 or 5 times a power of ten, so counts get whole ticks. */
function niceMax(value) {
  const rough = Math.max(value, 1) / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough);
  return Math.max(step, 1) * 4;
}

/** Draw `series` ([{name, color, values}]) over `labels` into `canvas`. */
export function barChart(canvas, { title, labels, series, empty = "Nothing in this period" }) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 480;
  const height = canvas.clientHeight || 240;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#1b2a3a";
  ctx.font = "600 13px system-ui, sans-serif";
  ctx.textBaseline = "top";
  ctx.fillText(title, 8, 6);
  if (!labels.length) {
    ctx.font = "13px system-ui, sans-serif";
    ctx.fillStyle = "#5b6b7c";
    ctx.fillText(empty, PAD.left, height / 2);
    return;
  }
  const max = niceMax(Math.max(...series.flatMap((s) => s.values)));
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  drawAxis(ctx, max, plotW, plotH);
  const group = plotW / labels.length;
  const bar = Math.max(2, Math.min(28, (group * 0.8) / series.length));
  labels.forEach((label, i) => {
    const x0 = PAD.left + i * group + (group - bar * series.length) / 2;
    series.forEach((s, k) => {
      const h = (s.values[i] / max) * plotH;
      ctx.fillStyle = s.color;
      ctx.fillRect(x0 + k * bar, PAD.top + plotH - h, bar - 1, h);
    });
    drawLabel(ctx, label, PAD.left + i * group + group / 2, PAD.top + plotH + 4, group);
  });
  drawLegend(ctx, series, width);
}

function drawAxis(ctx, max, plotW, plotH) {
  ctx.strokeStyle = "#d5e0ea";
  ctx.fillStyle = "#5b6b7c";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let i = 0; i <= 4; i++) {
    const y = PAD.top + plotH - (plotH * i) / 4;
    ctx.beginPath();
    ctx.moveTo(PAD.left, y);
    ctx.lineTo(PAD.left + plotW, y);
    ctx.stroke();
    ctx.fillText(String((max * i) / 4), PAD.left - 6, y);
  }
}

function drawLabel(ctx, label, x, y, room) {
  ctx.save();
  ctx.fillStyle = "#5b6b7c";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  ctx.fillText(String(label), x, y, Math.max(room - 2, 20));
  ctx.restore();
}

function drawLegend(ctx, series, width) {
  ctx.font = "12px system-ui, sans-serif";
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  let x = width - PAD.right;
  for (const s of [...series].reverse()) {
    const w = ctx.measureText(s.name).width;
    x -= w + 22;
    ctx.fillStyle = s.color;
    ctx.fillRect(x, 8, 10, 10);
    ctx.fillStyle = "#1b2a3a";
    ctx.fillText(s.name, x + 14, 6);
  }
}
