"""Rich rendering of a campaign preview (`perks campaigns preview`).

``out`` is the preview as the API serves it (JSON): read here, at the CLI's edge, untyped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich loads with the command that prints
    from rich.console import Console


def _money(fen: Any) -> str:
    if fen is None:
        return "—"
    return f"¥{fen / 100:,.2f}"


def render_preview(console: Console, out: dict[str, Any]) -> None:
    from rich.panel import Panel

    a = out["audience"]
    size = f"{a['size']:,}" + ("" if a.get("exact") else
                               f" ± {a.get('margin') or 0:,} (95 %, estimated from a sample)")
    console.print(Panel(f"[bold]{out['campaign_id']}[/] ({out['status']}) from {out['at']}\n"
                        f"audience: [bold]{size}[/] members; {a['profiles_read']:,} profiles "
                        "read" + ("" if a.get("exact") else f"; {a.get('method', '')}"),
                        title="preview", expand=False))
    _occurrences(console, out["occurrences"])
    _samples(console, out["samples"])
    _projection(console, out["projection"])
    for w in out.get("warnings", []):
        console.print(f"[yellow]lint {w['code']}[/] {w['path']}: {w['message']}")


def _occurrences(console: Console, occ: dict[str, Any]) -> None:
    from rich.table import Table

    fires = Table(title="next occurrences", title_justify="left")
    zones = [k for k, v in occ.items() if isinstance(v, list) and k not in ("celebrating",)]
    for z in zones:
        fires.add_column(z.upper() if z == "utc" else z)
    rows = max((len(occ[z]) for z in zones), default=0)
    for i in range(rows):
        fires.add_row(*[occ[z][i] if i < len(occ[z]) else "" for z in zones])
    if rows:
        console.print(fires)
    for tz, times in (occ.get("by_timezone") or {}).items():
        console.print(f"  {tz}: " + ", ".join(times))
    if occ.get("note"):
        console.print(f"[dim]{occ['note']}[/]")
    _holiday_dates(console, occ.get("holidays"))
    if occ.get("on_event"):
        console.print(f"fires on event [bold]{occ['on_event']}[/]")


def _holiday_dates(console: Console, holidays: dict[str, Any] | None) -> None:
    """The dates each holiday resolves to in the window, and those not published yet."""
    from rich.table import Table

    if not holidays:
        return
    table = Table(title="holiday dates in the window", title_justify="left")
    for col in ("holiday", "date", "fires at"):
        table.add_column(col)
    for d in holidays.get("dates", []):
        table.add_row(d["holiday"], d["date"], d["fires_at"])
    console.print(table)
    for u in holidays.get("unresolved", []):
        console.print(f"[yellow]{u['holiday']}: {u['reason']}[/] [dim]{u['hint']}[/]")


def _samples(console: Console, found: list[dict[str, Any]]) -> None:
    from rich.table import Table

    samples = Table(title=f"sample members ({len(found)})", title_justify="left")
    for col in ("member", "tier", "points", "timezone", "locale", "next (member time)",
                "message"):
        samples.add_column(col, overflow="fold")
    for s in found:
        msg = s.get("messages", [{}])[0] if s.get("messages") else {}
        samples.add_row(str(s.get("member_id")), str(s.get("tier") or "—"),
                        str(s.get("points") if s.get("points") is not None else "—"),
                        str(s.get("timezone") or "—"), str(s.get("locale") or "—"),
                        "\n".join(s.get("next", [])[:5]) or "—",
                        f"{msg.get('title', '')}\n{msg.get('body', '')}".strip())
    console.print(samples)


def _count(v: Any) -> str:
    return "—" if v is None else f"{v:,}"


def _projection(console: Console, p: dict[str, Any]) -> None:
    from rich.table import Table

    cost = Table(title=f"projection {p['from'][:10]} → {p['until'][:10]}: "
                       f"{p['recipients']:,} recipients x {p['deliveries_per_recipient']}",
                 title_justify="left")
    for col in ("", "projected", "budget", "within"):
        cost.add_column(col, justify="right")
    for key, row in p["budget"].items():
        fmt = _money if key == "money_minor" else _count
        within = row["within"]
        mark = "—" if within is None else ("[green]yes[/]" if within else "[bold red]NO[/]")
        cost.add_row(key, fmt(row["projected"]) if row["projected"] is not None else
                     "unbounded", fmt(row["budget"]), mark)
    console.print(cost)
    for note in p.get("notes", []):
        console.print(f"[yellow]note:[/] {note}")
