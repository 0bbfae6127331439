// Building the page: elements and text nodes only.  No innerHTML, no
// markup from strings: every value from the API is text (textContent),
// so a display name such as <img src=x onerror=...> shows as typed.

// h('button', {type: 'button', class: 'x', onclick: fn}, 'text', child...)
// Attributes are set with setAttribute, except on* keys, which become
// event listeners (functions only).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) {
        continue;
      }
      if (k.startsWith('on')) {
        if (typeof v === 'function') {
          el.addEventListener(k.slice(2), v);
        }
      } else if (k === 'value') {
        el.value = v;
      } else if (k === 'checked') {
        el.checked = !!v;
      } else {
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) {
      continue;
    }
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) {
    el.removeChild(el.firstChild);
  }
  return el;
}

// A message box: kind 'ok', 'err' or 'warn'; role=status (or alert for
// errors) so screen readers announce it.
export function message(kind, ...text) {
  return h('div', {class: 'msg ' + kind, role: kind === 'err' ? 'alert' : 'status'},
           ...text);
}

// A load into `el` may be overtaken by a later one (Next clicked twice, the
// filters changed while the list was loading), and the answers may come
// back in either order.  latest(el) marks a new load into el and returns
// a check that stays true only while that load is the newest: an answer
// that is no longer wanted is dropped, never drawn over a newer one.
const loads = new WeakMap();
export function latest(el) {
  const n = (loads.get(el) || 0) + 1;
  loads.set(el, n);
  return () => loads.get(el) === n;
}

let uid = 0;
export function newId(prefix) {
  uid += 1;
  return (prefix || 'f') + '-' + uid;
}

// A labelled field: returns {wrap, input}.
export function field(labelText, attrs) {
  const id = newId(attrs && attrs.name);
  const input = h(attrs && attrs.tag === 'select' ? 'select' : 'input',
                  Object.assign({id}, attrs, {tag: undefined}));
  const wrap = h('div', {class: 'field'}, h('label', {for: id}, labelText), input);
  return {wrap, input};
}

// An image of an SVG the API made (a QR code): as a data: URL in an
// <img>, where an SVG cannot run script, never as markup in the page.
export function svgImage(svg, alt, cls) {
  return h('img', {class: cls || 'qr', alt,
                   src: 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg)});
}
