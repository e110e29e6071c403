"""The preview server's pages as HTML: every value escaped, one inline style and script (each
with the response's nonce), nothing fetched from anywhere else."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from markupsafe import Markup

from campaign.errors import Problem, Severity
from campaign.letterview import LetterView
from campaign.page_assets import SCRIPT, STYLE
from campaign.survey import PAGE_ROWS, STATUSES, KindInfo, Page, Snapshot

PAGE_SIZE = PAGE_ROWS


@dataclass(frozen=True)
class Query:
    """The index's filters, from the query string."""

    audience: str = ""
    title: str = ""
    status: str = ""
    search: str = ""
    page: int = 1

    def link(self, **changes: str | int) -> str:
        values = {
            "audience": self.audience,
            "title": self.title,
            "status": self.status,
            "q": self.search,
            "page": self.page,
            **changes,
        }
        kept = {k: v for k, v in values.items() if v and not (k == "page" and v == 1)}
        return "/?" + urlencode(kept) if kept else "/"


def layout(title: str, main: Markup, version: str, complete: bool, nonce: str) -> str:
    return str(
        Markup(
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            "<title>{title}</title>\n"
            '<style nonce="{nonce}">{style}</style>\n'
            '<script nonce="{nonce}">{script}</script>\n'
            "</head>\n<body>\n"
            '<header class="top"><strong>campaign preview</strong> <a href="/">Index</a>'
            '<span class="live">updates as the files change</span></header>\n'
            '<main id="main" data-version="{version}" data-complete="{complete}">\n{main}\n'
            "</main>\n</body>\n</html>\n"
        ).format(
            title=title,
            nonce=nonce,
            style=Markup(STYLE),
            script=Markup(SCRIPT),
            version=version,
            complete="1" if complete else "0",
            main=main,
        )
    )


def problem_list(problems: Iterable[Problem], heading: str) -> Markup:
    items = sorted(problems, key=lambda p: (p.severity is not Severity.ERROR, p.path, p.line))
    if not items:
        return Markup("")
    errors = any(p.severity is Severity.ERROR for p in items)
    lines = Markup("").join(Markup("<li>{}</li>").format(str(p)) for p in items)
    return Markup('<section class="problems{warn}"><h2>{h}</h2><ul>{lines}</ul></section>').format(
        warn="" if errors else " warn", h=heading, lines=lines
    )


def failure_main(snapshot: Snapshot) -> Markup:
    """The campaign could not be loaded: why, at its file and line when known."""
    found = problem_list(snapshot.problems.items, "Problems")
    if snapshot.failure:
        found += Markup('<div class="error-box">{}</div>').format(snapshot.failure)
    return Markup('<h1>The campaign cannot be loaded</h1><div id="failure">{}</div>').format(found)


def _status(status: str) -> Markup:
    return Markup('<span class="status {0}">{0}</span>').format(status)


def _select(name: str, label: str, options: Iterable[str], chosen: str) -> Markup:
    items = [Markup('<option value="">all</option>')]
    items.extend(
        Markup('<option value="{0}"{1}>{0}</option>').format(
            o, Markup(" selected") if o == chosen else ""
        )
        for o in options
    )
    return Markup('<label>{label}<select name="{name}">{items}</select></label>').format(
        label=label, name=name, items=Markup("").join(items)
    )


def index_main(snapshot: Snapshot, query: Query, page: Page) -> Markup:
    survey = snapshot.survey
    campaign = snapshot.campaign
    name = campaign.name if campaign is not None else ""
    counts = survey.counts
    checked = sum(counts.values())
    summary = Markup("{n} recipients: {ok} ok, {w} with warnings, {e} with errors").format(
        n=f"{checked:,}",
        ok=f"{counts['ok']:,}",
        w=f"{counts['warning']:,}",
        e=f"{counts['error']:,}",
    )
    if not survey.complete:
        about = Markup(" of about {}").format(f"{survey.total_estimate:,}")
        summary += Markup(" (checking: {}{} rows so far)").format(
            f"{checked:,}", about if survey.total_estimate else ""
        )
    parts = [
        Markup("<h1>{}</h1><p>{}</p>").format(name, summary),
        problem_list(snapshot.problems.items, "Campaign problems"),
    ]
    if survey.failure:
        parts.append(Markup('<div class="error-box">{}</div>').format(survey.failure))
    parts.append(_kinds(survey.kinds, survey.more_kinds))
    audiences = sorted(campaign.audiences) if campaign is not None else []
    titles = sorted({k.kind.title for k in survey.kinds})
    parts.append(
        Markup(
            '<h2>Recipients</h2><form class="filters" method="get" action="/">{a}{t}{s}'
            '<label>Search<input type="search" name="q" value="{q}" placeholder="name, email, '
            'state"></label><button type="submit">Filter</button> <a href="/">clear</a></form>'
        ).format(
            a=_select("audience", "Audience", audiences, query.audience),
            t=_select("title", "Title", titles, query.title),
            s=_select("status", "Status", STATUSES, query.status),
            q=query.search,
        )
    )
    start = (query.page - 1) * PAGE_SIZE
    shown = Markup("Rows {a}–{b} of {n}{more} matching").format(
        a=f"{start + 1:,}" if page.entries else "0",
        b=f"{start + len(page.entries):,}",
        n=f"{page.matches:,}",
        more="" if page.complete else "+",
    )
    parts.append(Markup('<p id="shown">{}</p>').format(shown))
    rows = []
    for e in page.entries:
        reasons = Markup("").join(Markup("<li>{}</li>").format(r) for r in e.reasons)
        rows.append(
            Markup(
                '<tr class="row" data-status="{status}"><td data-label="Row" class="short">{n}</td>'
                '<td data-label="Name"><a href="/letter/{n}">{name}</a></td>'
                '<td data-label="Audience" class="audience short">{audience}</td>'
                '<td data-label="Title">{title}</td>'
                '<td data-label="State" class="short">{state}</td>'
                '<td data-label="Status">{badge}<ul class="reasons">{reasons}</ul></td></tr>'
            ).format(
                status=e.status,
                n=e.number,
                name=e.name or "(no name)",
                audience=e.audience,
                title=e.title,
                state=e.state,
                badge=_status(e.status),
                reasons=reasons,
            )
        )
    parts.append(
        Markup(
            '<table class="rows"><thead><tr><th>Row</th><th>Name</th><th>Audience</th>'
            "<th>Title</th><th>State</th><th>Status</th></tr></thead><tbody>{}</tbody></table>"
        ).format(Markup("").join(rows))
    )
    links = []
    if query.page > 1:
        links.append(
            Markup('<a rel="prev" href="{}">previous</a>').format(query.link(page=query.page - 1))
        )
    if start + PAGE_SIZE < page.matches:
        links.append(
            Markup('<a rel="next" href="{}">next</a>').format(query.link(page=query.page + 1))
        )
    parts.append(Markup('<nav class="pages">{}</nav>').format(Markup("").join(links)))
    return Markup("\n").join(parts)


def _kinds(kinds: list[KindInfo], more: int) -> Markup:
    rows = Markup("").join(
        Markup(
            '<tr class="kind"><td data-label="Kind">{label}</td>'
            '<td data-label="Rows">{count}</td><td data-label="Example">'
            '<a class="example" href="/letter/{n}">row {n}</a>{note}</td></tr>'
        ).format(
            label=k.kind.label,
            count=f"{k.count:,}",
            n=k.example,
            note="" if k.example_ok else " (has errors)",
        )
        for k in kinds
    )
    extra = Markup("<p>and {} rows of further kinds</p>").format(f"{more:,}") if more else ""
    return Markup(
        '<h2>Each kind of letter, once</h2><table class="rows kinds"><thead><tr><th>Kind '
        "(audience · title · variant)</th><th>Rows</th><th>Example</th></tr></thead>"
        "<tbody>{}</tbody></table>{}"
    ).format(rows, extra)


def letter_main(snapshot: Snapshot, view: LetterView, display: str) -> Markup:
    around = []
    if view.number > 1:
        around.append(
            Markup('<a rel="prev" href="/letter/{0}">← row {0}</a>').format(view.number - 1)
        )
    around.append(Markup('<a href="/">all recipients</a>'))
    if snapshot.survey.entry(view.number + 1) is not None or not snapshot.survey.complete:
        around.append(
            Markup('<a rel="next" href="/letter/{0}">row {0} →</a>').format(view.number + 1)
        )
    parts = [
        Markup(
            '<nav class="pages">{}</nav><h1>Row {n}: {name}</h1><p>{kind} · {where}:{line}</p>'
        ).format(
            Markup("").join(around),
            n=view.number,
            name=view.name,
            kind=view.kind,
            where=display,
            line=view.line,
        ),
        problem_list(
            [p for p in snapshot.problems.items if p.severity is Severity.ERROR], "Campaign errors"
        ),
    ]
    if view.problems or view.warnings:
        items = Markup("").join(
            Markup("<li>{}:{}: {}: {}</li>").format(display, view.line, severity, p)
            for severity, found in (("error", view.problems), ("warning", view.warnings))
            for p in found
        )
        parts.append(
            Markup(
                '<section class="problems{w}" id="row-problems"><h2>This row</h2><ul>{i}</ul>'
                "</section>"
            ).format(w="" if view.problems else " warn", i=items)
        )
    if view.render_error:
        parts.append(
            Markup('<div class="error-box" id="render-error">{}</div>').format(view.render_error)
        )
        return Markup("\n").join(parts)
    if view.headers:
        rows = Markup("").join(
            Markup("<tr><th>{}</th><td>{}</td></tr>").format(k, v) for k, v in view.headers
        )
        parts.append(
            Markup(
                '<h2>Headers</h2><table class="headers" id="headers">{}</table>'
                '<details><summary>The header block as sent</summary><pre class="raw">{}'
                "</pre></details>"
            ).format(rows, view.raw_headers)
        )
    else:
        parts.append(
            Markup('<h2>Headers</h2><p id="headers">Subject: {}</p><p>{}</p>').format(
                view.subject, view.note
            )
        )
    kind = "html" if view.body_is_html else "text"
    legend = (
        Markup(
            '<span class="legend">(<span class="field">from the recipients file</span>, '
            '<span class="field computed">computed from it</span>; hover for the column)</span>'
        )
        if view.marked
        else Markup('<span class="legend">(this letter could not be marked)</span>')
    )
    parts.append(
        Markup(
            '<h2>Letter ({part})</h2><div class="letter-box"><input type="checkbox" id="marks" '
            'checked> <label for="marks">Mark the fields</label> {legend}'
            '<article class="letter {kind}" id="letter">{body}</article>{text}</div>'
        ).format(
            part="HTML part" if view.body_is_html else "plain text",
            legend=legend,
            kind=kind,
            body=view.body or "",
            text=Markup(
                '<details class="letter-text"><summary>The plain-text part</summary>'
                '<article class="letter text">{}</article></details>'
            ).format(view.text_body)
            if view.text_body is not None
            else "",
        )
    )
    return Markup("\n").join(parts)


def not_found_main(what: str) -> Markup:
    return Markup('<h1>Not found</h1><p>{}</p><p><a href="/">All recipients</a></p>').format(what)


__all__ = ["PAGE_SIZE", "Query", "failure_main", "index_main", "layout", "letter_main"]
