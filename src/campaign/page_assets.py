"""The preview pages' one stylesheet and one script, set inline in each page (each with the
response's nonce): nothing is fetched from anywhere."""

STYLE = """
:root { color-scheme: light; --line: #d0d4da; --muted: #555; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1b1f24; background: #f6f7f9; }
header.top { background: #1f2a37; color: #fff; padding: .5em 1em; display: flex; gap: 1em;
  flex-wrap: wrap; align-items: center; }
header.top a { color: #fff; }
.live { margin-left: auto; font-size: .85em; opacity: .8; }
main { max-width: 72em; margin: 0 auto; padding: 1em; }
h1 { font-size: 1.4em; margin: .3em 0; overflow-wrap: anywhere; }
h2 { font-size: 1.15em; margin: 1.2em 0 .4em; }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; vertical-align: top; padding: .35em .5em;
  border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
th { background: #eef1f4; font-size: .9em; white-space: nowrap; }
td.short { white-space: nowrap; }
.status { display: inline-block; padding: 0 .45em; border-radius: .6em; font-size: .85em;
  font-weight: 600; }
.status.ok { background: #dcf3e3; color: #115c2a; }
.status.warning { background: #fff0c2; color: #6b4e00; }
.status.error { background: #fbdcdc; color: #8a1414; }
ul.reasons { margin: 0; padding-left: 1.1em; font-size: .9em; }
.problems { background: #fff; border-left: 4px solid #c62828; padding: .5em 1em; }
.problems.warn { border-left-color: #b58900; }
.problems li { overflow-wrap: anywhere; font-family: ui-monospace, monospace; font-size: .85em; }
form.filters { display: flex; flex-wrap: wrap; gap: .6em; align-items: end; margin: .5em 0; }
form.filters label { display: flex; flex-direction: column; font-size: .85em; }
form.filters input, form.filters select, form.filters button { font: inherit; padding: .25em; }
nav.pages { margin: .6em 0; display: flex; gap: 1em; }
.letter { background: #fff; border: 1px solid var(--line); padding: 1.5em 2em;
  font-family: Georgia, "Times New Roman", serif; line-height: 1.55; max-width: 46em; }
.letter.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.letter blockquote { margin: 1em 1.5em; }
.headers th { width: 8em; }
pre.raw { white-space: pre-wrap; overflow-wrap: anywhere; background: #fff; padding: .5em;
  border: 1px solid var(--line); font-size: .8em; }
#marks:checked ~ .letter .field, #marks:checked ~ details .field {
  background: #fff3b0; outline: 1px dotted #b58900; }
#marks:checked ~ .letter .field.computed, #marks:checked ~ details .field.computed {
  background: #e3ecff; outline-color: #0b5cad; }
.legend { font-size: .85em; color: var(--muted); }
.legend .field { background: #fff3b0; padding: 0 .2em; }
.legend .field.computed { background: #e3ecff; }
a.cite { text-decoration: none; font-weight: 600; }
.quote.verified { border-bottom: 2px solid #2e7d32; }
.quote.differs { border-bottom: 2px solid #c62828; }
.quote.unchecked { border-bottom: 2px dashed #b58900; }
.badge { font: 600 .7em system-ui, sans-serif; padding: 0 .4em; border-radius: .5em;
  white-space: nowrap; }
.badge.verified { background: #dcf3e3; color: #115c2a; }
.badge.differs { background: #fbdcdc; color: #8a1414; }
.badge.unchecked { background: #fff0c2; color: #6b4e00; }
.reference:target, li:target { background: #fff3b0; }
.error-box { background: #fff; border: 2px solid #c62828; padding: 1em;
  font-family: ui-monospace, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
@media (max-width: 640px) {
  main { padding: .5em; }
  .letter { padding: 1em; }
  table.rows thead { display: none; }
  table.rows tr { display: block; border-bottom: 2px solid var(--line); padding: .3em 0; }
  table.rows td { display: block; border: 0; padding: .1em .4em; }
  table.rows td[data-label]::before { content: attr(data-label) ": "; font-weight: 600;
    color: var(--muted); }
}
"""

# Polls /_version; when the files changed (or the row checks finished), fetches the page again
# and swaps in its <main>. Without scripts the page is the same, reloaded by hand.
SCRIPT = r"""
(function () {
  function check() {
    fetch("/_version", {cache: "no-store"}).then(function (r) { return r.json(); })
    .then(function (v) {
      var main = document.getElementById("main");
      if (!main) { return; }
      if (v.version === main.dataset.version && !(main.dataset.complete === "0" && v.complete)) {
        return;
      }
      return fetch(location.href, {cache: "no-store"}).then(function (r) { return r.text(); })
      .then(function (text) {
        // Split so that this script's own text does not match.
        var from = text.indexOf("<" + "main id="), to = text.lastIndexOf("</" + "main>");
        if (from < 0 || to < from) { return; }
        var doc = new DOMParser().parseFromString(text.slice(from, to + 7), "text/html");
        var fresh = doc.getElementById("main");
        if (!fresh) { return; }
        var marks = document.getElementById("marks");
        var on = marks ? marks.checked : true;
        main.replaceWith(document.adoptNode(fresh));
        var again = document.getElementById("marks");
        if (again) { again.checked = on; }
        var title = /<title>([^<]*)<\/title>/.exec(text);
        if (title) { document.title = new DOMParser().parseFromString(title[1], "text/html")
          .documentElement.textContent; }
      });
    }).catch(function () {}).then(function () { setTimeout(check, 300); });
  }
  setTimeout(check, 300);
})();
"""

__all__ = ["SCRIPT", "STYLE"]
