// A tiny DOM builder: elements and text nodes only, never markup parsed from a string, so text
// from the network can never become HTML.

/** h("li", {class: "x", dataset: {id: 1}, onclick: fn}, "text", child...) */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "dataset") setData(element, value);
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function setData(element, data) {
  for (const [key, value] of Object.entries(data)) {
    if (value !== null && value !== undefined) element.dataset[key] = value;
  }
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

/** Replace an element's children. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function newKey() {
  return crypto.randomUUID();
}
