"""``imprimatur``: the marketplace from the command line, for publishers and buyers.

Exit codes: 0 success; 1 the marketplace refused the request (the message says why and what to do); 2 wrong usage of
the command; 3 a checksum or certificate did not verify; 4 the marketplace could not be reached.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from imprimatur_client import config
from imprimatur_client.client import Client
from imprimatur_client.errors import (
    ImprimaturError,
    PaymentRequired,
    TransportError,
    Unauthorized,
    ValidationFailed,
    VerificationFailed,
)

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Imprimatur: license content to AI.")
offer_app = typer.Typer(no_args_is_help=True, help="Create, list and retire offers.")
usage_app = typer.Typer(no_args_is_help=True, help="Report and show usage.")
account_app = typer.Typer(no_args_is_help=True, help="Accounts (admin).")
app.add_typer(offer_app, name="offer")
app.add_typer(usage_app, name="usage")
app.add_typer(account_app, name="account")
out = Console()
err = Console(stderr=True)
STATE: dict[str, str | None] = {"profile": None}
HINTS = {
    401: "Your API key was refused (missing, revoked, or the account is suspended). Run `imprimatur configure`.",
    403: "Your account does not have the role this needs (publisher, buyer or admin).",
    404: "Check the id: it does not exist, or it is not yours.",
    409: "The request conflicts with the current state (see above).",
    410: "The publisher withdrew this asset.",
}


@app.callback()
def _global(profile: Annotated[str | None, typer.Option(help="profile from the config file")] = None) -> None:
    STATE["profile"] = profile


def client() -> Client:
    prof = config.resolve(STATE["profile"])
    if prof is None:
        err.print("[red]Not configured.[/] Run `imprimatur configure --url URL --key KEY` (or `--local`).")
        raise typer.Exit(2)
    return Client(prof.url, prof.key)


@contextmanager
def friendly() -> Iterator[None]:
    """Expected failures become a short message and an exit code, never a traceback."""
    try:
        yield
    except PaymentRequired as exc:
        err.print(f"[yellow]Payment required:[/] {exc.detail}")
        if exc.crawler_price:
            err.print(f"  per-access price: {exc.crawler_price} (use --max-price to pay per crawl)")
        for o in exc.offers:
            err.print(f"  offer {o['id']}: {o['pricing']['model']} {_price(o['pricing'])} for {', '.join(o['uses'])}")
        err.print("Buy a licence with `imprimatur buy OFFER_ID --use USE`.")
        raise typer.Exit(1) from None
    except VerificationFailed as exc:
        err.print(f"[red]Verification failed:[/] {exc.detail}")
        raise typer.Exit(3) from None
    except TransportError as exc:
        err.print(
            f"[red]Cannot reach the marketplace:[/] {exc.detail}\nIs it running (`make run`) and is the URL "
            "in your profile right?"
        )
        raise typer.Exit(4) from None
    except ValidationFailed as exc:
        err.print(f"[red]Invalid request:[/] {exc.detail}")
        for e in exc.errors:
            err.print(f"  - {e.get('field') or e.get('location')}: {e.get('message')}")
        raise typer.Exit(1) from None
    except ImprimaturError as exc:
        err.print(f"[red]{exc.title or 'Error'}:[/] {exc.detail} [dim]({exc.status} {exc.code})[/]")
        if exc.status in HINTS:
            err.print(HINTS[exc.status])
        raise typer.Exit(1) from None
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        err.print(f"[red]File problem:[/] {exc}")
        raise typer.Exit(2) from None


def _price(pricing: dict[str, Any]) -> str:
    if pricing["model"] == "free":
        return "free"
    amount = f"{pricing['currency']} {pricing['amount_micros'] / 1_000_000:.6f}"
    return amount + (f" per {pricing['unit']}" if pricing.get("unit") else "")


def _micros(text: str) -> int:
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 6:
        raise typer.BadParameter(f"{text!r} is not an amount like 0.01")
    return int(whole) * 1_000_000 + int(frac.ljust(6, "0") or 0)


def _advance(prog: Progress, task: Any) -> Any:
    return lambda n: prog.advance(task, n)


def _progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=False,
    )


# ---------------------------------------------------------------------------------------------- profiles
@app.command()
def configure(
    url: Annotated[str | None, typer.Option(help="API base URL")] = None,
    key: Annotated[str | None, typer.Option(help="API key (imp_...)")] = None,
    local: Annotated[bool, typer.Option("--local", help="use .imprimatur/local.json from `make run`")] = False,
    state_file: Annotated[Path, typer.Option(help="the local state file")] = Path(".imprimatur/local.json"),
    account: Annotated[str, typer.Option(help="with --local: 'admin' or a demo account name")] = "admin",
    profile: Annotated[str, typer.Option(help="profile name")] = "default",
) -> None:
    """Save a profile: a URL and an API key."""
    if local:
        if not state_file.exists():
            err.print(f"[red]{state_file} not found.[/] Start the marketplace with `make run` first.")
            raise typer.Exit(2)
        state = config.local_state(state_file)
        url = str(state["api_url"])
        if account == "admin":
            key = str(state["admin_api_key"])
        else:
            people = {p["name"]: p for p in state.get("demo", {}).get("accounts", [])}  # type: ignore[attr-defined]
            if account not in people:
                err.print(f"[red]No demo account {account!r}.[/] Known: admin, {', '.join(people)}")
                raise typer.Exit(2)
            key = people[account]["api_key"]
    if not url:
        err.print("[red]Give --url and --key, or --local.[/]")
        raise typer.Exit(2)
    path = config.save_profile(profile, url, key)
    out.print(f"Saved profile [bold]{profile}[/] ({url}) in {path}")


@app.command()
def whoami() -> None:
    """Show the account of the configured key."""
    with friendly():
        me = client().me()
    out.print(f"{me['name']} <{me['email']}>  {me['id']}  roles: {', '.join(me['roles'])}  status: {me['status']}")


# ------------------------------------------------------------------------------------------- publishing
def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        elif p.is_file():
            found.append(p)
        else:
            raise FileNotFoundError(f"{p} does not exist")
    return found


@app.command()
def publish(
    paths: Annotated[list[Path], typer.Argument(help="files or directories")],
    kind: Annotated[str, typer.Option(help="article, dataset, image, audio, video, book, other")] = "other",
    language: Annotated[str, typer.Option(help="ISO 639 language code")] = "en",
    tag: Annotated[list[str] | None, typer.Option(help="a tag (repeatable)")] = None,
    collection: Annotated[str | None, typer.Option(help="collection id")] = None,
    multipart: Annotated[
        bool | None, typer.Option("--multipart/--single-put", help="force the upload method (default: by size)")
    ] = None,
    parallel: Annotated[int, typer.Option(help="parallel multipart parts")] = 4,
    json_output: Annotated[bool, typer.Option("--json", help="print the assets as JSON")] = False,
) -> None:
    """Upload files (a whole directory recursively) straight to storage; resumable after an interruption."""
    results = []
    with friendly():
        files = _files(paths)
        c = client()
        with _progress() as prog:
            for f in files:
                task = prog.add_task(f.name[:30], total=f.stat().st_size)
                asset = c.publish_file(
                    f,
                    kind=kind,
                    language=language,
                    tags=tag,
                    collection_id=collection,
                    multipart=multipart,
                    state_dir=config.state_dir(),
                    parallel=parallel,
                    progress=_advance(prog, task),
                )
                results.append(asset)
    if json_output:
        out.print_json(json.dumps(results))
        return
    table = Table("asset", "title", "status", "bytes")
    for a in results:
        table.add_row(
            a["id"],
            a["title"],
            a["status"] + (f" ({a['status_reason']})" if a.get("status_reason") else ""),
            str(a["size_bytes"]),
        )
    out.print(table)
    if any(a["status"] != "available" for a in results):
        raise typer.Exit(3)


@offer_app.command("create")
def offer_create(
    asset: Annotated[str | None, typer.Option(help="asset id")] = None,
    collection: Annotated[str | None, typer.Option(help="collection id")] = None,
    pool: Annotated[str | None, typer.Option(help="pool id (admin)")] = None,
    uses: Annotated[
        str, typer.Option(help="comma-separated: ai-train,ai-input,ai-index,search,ai-all,all")
    ] = "ai-input",
    model: Annotated[str, typer.Option(help="per_access, per_unit, flat, subscription, free")] = "per_access",
    price: Annotated[str, typer.Option(help="amount in currency units, e.g. 0.01")] = "0",
    currency: str = "USD",
    unit: Annotated[str | None, typer.Option(help="per_unit: what one unit is")] = None,
    period_days: Annotated[int | None, typer.Option(help="subscription period")] = None,
    term_days: Annotated[int | None, typer.Option(help="licence term")] = None,
) -> None:
    """Publish an offer on an asset, a collection or a pool."""
    pricing: dict[str, Any] = {"model": model, "amount_micros": _micros(price), "currency": currency}
    if unit:
        pricing["unit"] = unit
    if period_days:
        pricing["period_days"] = period_days
    body: dict[str, Any] = {"uses": [u.strip() for u in uses.split(",") if u.strip()], "pricing": pricing}
    for k, v in (("asset_id", asset), ("collection_id", collection), ("pool_id", pool), ("term_days", term_days)):
        if v is not None:
            body[k] = v
    with friendly():
        offer = client().create_offer(**body)
    out.print(
        f"offer {offer['id']}: {offer['pricing']['model']} {_price(offer['pricing'])} for {', '.join(offer['uses'])}"
    )


@offer_app.command("list")
def offer_list(asset: Annotated[str, typer.Option(help="asset id")]) -> None:
    """Offers on an asset."""
    with friendly():
        offers = list(client().offers(asset_id=asset))
    table = Table("offer", "status", "model", "price", "uses")
    for o in offers:
        table.add_row(o["id"], o["status"], o["pricing"]["model"], _price(o["pricing"]), ",".join(o["uses"]))
    out.print(table)


@offer_app.command("retire")
def offer_retire(offer_id: str) -> None:
    """Retire an offer: no new licences; existing licences are untouched."""
    with friendly():
        client().retire_offer(offer_id)
    out.print(f"offer {offer_id} retired")


# ----------------------------------------------------------------------------------------------- buying
@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="words to look for")] = None,
    kind: str | None = None,
    language: str | None = None,
    tag: str | None = None,
    use: str | None = None,
    max_price: Annotated[str | None, typer.Option(help="highest price, e.g. 0.05")] = None,
    limit: int = 20,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Search the public catalogue."""
    filters = {
        "q": query,
        "kind": kind,
        "language": language,
        "tag": tag,
        "use": use,
        "max_price_micros": _micros(max_price) if max_price else None,
    }
    with friendly():
        items = []
        for item in client().search(**filters):
            items.append(item)
            if len(items) >= limit:
                break
    if json_output:
        out.print_json(json.dumps(items))
        return
    table = Table("asset", "title", "kind", "offers")
    for a in items:
        table.add_row(
            a["id"],
            a["title"],
            a["kind"],
            "\n".join(f"{o['id']} {o['pricing']['model']} {_price(o['pricing'])}" for o in a["offers"]),
        )
    out.print(table)


@app.command()
def buy(
    offer_id: str,
    use: Annotated[str, typer.Option(help="the use you license")],
    budget: Annotated[str | None, typer.Option(help="budget cap, e.g. 25.00")] = None,
) -> None:
    """Take a licence on an offer; prints the licence id and its certificate."""
    with friendly():
        got = client().buy(offer_id, use, _micros(budget) if budget else None)
    lic = got["license"]
    out.print(f"licence {lic['id']} ({lic['status']}) for {lic['use']}, expires {lic.get('expires_at') or 'never'}")
    out.print(f"certificate: {got['certificate']}")


@app.command()
def licenses(as_: Annotated[str, typer.Option("--as", help="buyer or publisher")] = "buyer") -> None:
    """Your licences."""
    with friendly():
        items = list(client().licenses(as_))
    table = Table("licence", "status", "use", "scope", "model")
    for x in items:
        table.add_row(
            x["id"], x["status"], x["use"], f"{x['scope']['type']} {x['scope']['id']}", x["terms"]["pricing"]["model"]
        )
    out.print(table)


@app.command()
def fetch(
    asset_id: str,
    use: Annotated[str, typer.Option(help="the use you need")],
    license_id: Annotated[str | None, typer.Option("--license", help="licence id")] = None,
    max_price: Annotated[str | None, typer.Option(help="pay per crawl up to this, e.g. 'USD 0.01'")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="file to write")] = None,
) -> None:
    """Download licensed content to disk and verify its SHA-256."""
    with friendly():
        c = client()
        grant = c.content(asset_id, use, license_id=license_id, max_price=max_price)
        dest = output or Path(asset_id)
        with _progress() as prog:
            task = prog.add_task(dest.name[:30], total=grant.size_bytes)
            c.download(grant, dest, progress=_advance(prog, task))
    charged = f", charged {grant.crawler_charged}" if grant.crawler_charged else ""
    out.print(f"{dest}: {grant.size_bytes} bytes, sha256 verified, licence {grant.license_id}{charged}")


@app.command()
def verify(
    certificate: Annotated[str, typer.Argument(help="a certificate (JWS) or a licence id")],
    jwks_file: Annotated[Path | None, typer.Option("--jwks", help="JWKS file (offline)")] = None,
) -> None:
    """Verify a licence certificate offline against the marketplace's public keys."""
    with friendly():
        c = client() if jwks_file is None or certificate.startswith("lic_") else None
        token = c.certificate(certificate) if c and certificate.startswith("lic_") else certificate
        jwks = json.loads(jwks_file.read_text()) if jwks_file else c.jwks()  # type: ignore[union-attr]
        from imprimatur_client.certificates import verify_certificate

        claims = verify_certificate(token, jwks)
    out.print(
        f"[green]valid[/] licence {claims['license_id']}: {claims['use']} on {claims['scope']['type']} "
        f"{claims['scope']['id']} for {claims['buyer_id']}, terms sha256 {claims['terms_sha256'][:16]}…"
    )


# ------------------------------------------------------------------------------------------------ money
@usage_app.command("report")
def usage_report(file: Annotated[Path, typer.Argument(help="JSON lines: one usage event per line")]) -> None:
    """Report usage events from a JSON-lines file (sent in batches of 500)."""
    with friendly():
        events = []
        for n, line in enumerate(file.read_text().splitlines(), 1):
            if line.strip():
                try:
                    events.append(json.loads(line))
                except ValueError:
                    err.print(f"[red]{file}:{n} is not JSON[/]")
                    raise typer.Exit(2) from None
        got = client().report_usage(events)
    out.print(f"accepted {got['accepted']}, duplicates {got['duplicates']}, rejected {len(got['rejected'])}")
    for r in got["rejected"]:
        out.print(f"  rejected {r['event_id']}: {r['code']}")


@usage_app.command("show")
def usage_show(
    group_by: Annotated[str, typer.Option(help="day, asset, license, buyer, publisher")] = "day",
    from_: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
    to: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    as_: Annotated[str | None, typer.Option("--as", help="buyer or publisher")] = None,
    csv: Annotated[bool, typer.Option("--csv")] = False,
) -> None:
    """Usage and amounts, grouped."""
    with friendly():
        items = client().usage(group_by=group_by, from_=from_, to=to, as_=as_)
    if csv:
        print("key,units,accesses,amount_micros")
        for i in items:
            print(f"{i['key']},{i['units']},{i['accesses']},{i['amount_micros']}")
        return
    table = Table(group_by, "units", "accesses", "amount")
    for i in items:
        table.add_row(i["key"], str(i["units"]), str(i["accesses"]), f"{i['amount_micros'] / 1e6:.6f}")
    out.print(table)


@app.command()
def balance(currency: str = "USD") -> None:
    """What you owe (negative) or have earned."""
    with friendly():
        b = client().balance(currency)
    out.print(f"{b['currency']} {b['balance_micros'] / 1_000_000:.6f}  ({b['balance_micros']} micros)")


@app.command()
def statement(
    period: Annotated[str | None, typer.Argument(help="YYYY-MM (default: this month)")] = None,
    csv: Annotated[bool, typer.Option("--csv")] = False,
) -> None:
    """Your monthly statement, as a table or CSV."""
    period = period or datetime.now(UTC).strftime("%Y-%m")
    with friendly():
        c = client()
        if csv:
            sys.stdout.write(c.statement(period, csv=True))
            return
        st = c.statement(period)
    table = Table("licence", "asset", "use", "units", "gross", "fee", "net", title=f"{st['account_id']} {period}")
    for x in st["lines"]:
        table.add_row(
            x["license_id"],
            x.get("asset_id") or "-",
            x["use"],
            str(x["units"]),
            str(x["gross_micros"]),
            str(x["fee_micros"]),
            str(x["net_micros"]),
        )
    t = st["totals"]
    table.add_row("TOTAL", "", "", str(t["units"]), str(t["gross_micros"]), str(t["fee_micros"]), str(t["net_micros"]))
    out.print(table)
    for d in st["distributions"]:
        out.print(
            f"pool {d['pool_id']}: share {d['share_micros']} for {d['units']} of {d['pool_units']} units "
            f"(pool net {d['pool_net_micros']})"
        )


@account_app.command("create")
def account_create(
    name: str,
    email: str,
    role: Annotated[list[str], typer.Option(help="publisher, buyer, admin (repeatable)")],
) -> None:
    """Create an account (admin) and print its API key once."""
    with friendly():
        got = client().create_account(name, email, role)
    out.print(f"account {got['account']['id']} created; API key (shown once): {got['api_key']}")


def main() -> None:
    try:
        app()
    except Unauthorized:  # pragma: no cover - handled in friendly()
        raise


if __name__ == "__main__":
    main()
