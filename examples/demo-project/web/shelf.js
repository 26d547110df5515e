// Renders `shelf export` as a small HTML page, one section per status.
//
//   cargo run -q -- export | node web/shelf.js > shelf.html
//
// The same functions run in a browser: include this file and call renderShelf(books).

"use strict";

const SECTIONS = [
  ["reading", "Reading now"],
  ["to-read", "Up next"],
  ["read", "Read"],
];

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
  })[c]);
}

function renderBook(book) {
  return `<li data-id="${book.id}"><cite>${escapeHtml(book.title)}</cite> ` +
    `by ${escapeHtml(book.author)} <span class="year">${book.year}</span></li>`;
}

function renderShelf(books) {
  const sections = SECTIONS.map(([status, heading]) => {
    const mine = books.filter((b) => b.status === status);
    if (mine.length === 0) return "";
    return `<section class="${status}">\n<h2>${heading} (${mine.length})</h2>\n<ul>\n` +
      mine.map(renderBook).join("\n") + "\n</ul>\n</section>";
  });
  return [
    "<!doctype html>",
    '<meta charset="utf-8">',
    "<title>My shelf</title>",
    `<h1>My shelf: ${books.length} books</h1>`,
    ...sections.filter(Boolean),
  ].join("\n");
}

if (typeof module !== "undefined" && require.main === module) {
  let input = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => (input += chunk));
  process.stdin.on("end", () => {
    try {
      process.stdout.write(renderShelf(JSON.parse(input)) + "\n");
    } catch (error) {
      console.error(`shelf.js: expected the JSON of \`shelf export\` on stdin (${error.message})`);
      process.exit(1);
    }
  });
} else if (typeof module !== "undefined") {
  module.exports = { renderShelf, escapeHtml };
}
