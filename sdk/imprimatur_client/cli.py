"""``imprimatur``: the marketplace from the command line, for publishers, buyers and admins.

Needs the ``cli`` extra (Typer, Rich). Exit codes: 0 success; 1 the marketplace refused the request (the message says
why and what to do); 2 wrong usage of the command; 3 a checksum or certificate did not verify; 4 the marketplace could
not be reached.

Output: tables fold long cells instead of cutting them, so ids and totals are always whole; every listing command also
takes ``--json``. Data from the marketplace is never read as Rich markup (a title like ``[draft]`` prints as is).
Raw values meant for files (certificates, CSV, RSL) go to stdout unwrapped.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table
from rich.text import Text

from imprimatur_client import config, money
from imprimatur_client.certificates import decode_claims
from imprimatur_client.client import Client
from imprimatur_client.errors import (
    BudgetBelowPrice,
    BudgetExhausted,
    BudgetReserved,
    CapBelowSpent,
    ImprimaturError,
    LicenseCancelled,
    LicenseEnded,
    LicenseExpired,
    LicenseLapsed,
    LicenseNotActive,
    LicenseRevoked,
    MissingExtra,
    PaymentRequired,
    PeriodOpen,
    TransportError,
    ValidationFailed,
    VerificationFailed,
)

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Imprimatur: license content to AI.")
asset_app = typer.Typer(no_args_is_help=True, help="Your assets: list, show, change, withdraw, RSL (publisher).")
collection_app = typer.Typer(no_args_is_help=True, help="Collections: groupings of assets that offers can cover.")
offer_app = typer.Typer(no_args_is_help=True, help="Create, list, show and retire offers.")
license_app = typer.Typer(
    no_args_is_help=True, help="One licence: show, certificate, budget cap and cancel (buyer), revoke (publisher)."
)
pool_app = typer.Typer(no_args_is_help=True, help="Pools: collective licensing for small publishers.")
usage_app = typer.Typer(no_args_is_help=True, help="Report and show usage.")
period_app = typer.Typer(no_args_is_help=True, help="Accounting periods (admin): close a month for good.")
account_app = typer.Typer(no_args_is_help=True, help="Accounts (admin).")
keys_app = typer.Typer(no_args_is_help=True, help="Your API keys: list, create, revoke.")
for sub, name in (
    (asset_app, "asset"),
    (collection_app, "collection"),
    (offer_app, "offer"),
    (license_app, "license"),
    (pool_app, "pool"),
    (usage_app, "usage"),
    (period_app, "period"),
    (account_app, "account"),
    (account_app, "accounts"),  # the same commands: `imprimatur accounts list` reads as well as `account create`
    (keys_app, "keys"),
):
    app.add_typer(sub, name=name)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
STATE: dict[str, str | None] = {"profile": None}
HINTS = {
    401: "Your API key was refused (missing, revoked, or the account is suspended). Run `imprimatur configure`.",
    403: "Your account does not have the role this needs (publisher, buyer or admin), or the licence cannot serve.",
    404: "Check the id: it does not exist, or it is not yours.",
    409: "The request conflicts with the current state (see above).",
    410: "The publisher withdrew this asset.",
}
# What to do about the licence and budget codes of API 1.1 (LICENCE is replaced by the licence id when known).
LICENCE_HINTS: tuple[tuple[type[ImprimaturError], str], ...] = (
    (
        BudgetExhausted,
        "The licence's budget cap is reached; nothing was charged. `imprimatur license show LICENCE` shows what it "
        "spent; `imprimatur license cap LICENCE AMOUNT` raises the cap.",
    ),
    (
        LicenseLapsed,
        "The licence lapsed: renewing it would have exceeded its budget cap. Raise the cap with "
        "`imprimatur license cap LICENCE AMOUNT` and it is active again.",
    ),
    (
        LicenseRevoked,
        "The publisher revoked this licence (`imprimatur license show LICENCE` gives the reason); paying per crawl "
        "does not replace it.",
    ),
    (
        LicenseCancelled,
        "The licence was cancelled. Take a new one (`imprimatur buy OFFER_ID --use USE`) or pay per crawl with "
        "--max-price.",
    ),
    (
        LicenseExpired,
        "The licence's term is over. Take a new one (`imprimatur buy OFFER_ID --use USE`) or pay per crawl with "
        "--max-price.",
    ),
    (
        LicenseNotActive,
        "Certificates are issued for active licences only; `imprimatur license show LICENCE` shows its status.",
    ),
    (
        BudgetBelowPrice,
        "The offer charges more than the --budget you gave, so nothing was bought: give a budget of at least its "
        "price (`imprimatur offer show OFFER_ID`), or none.",
    ),
    (
        CapBelowSpent,
        "A budget cap cannot be lower than what the licence has already spent (`imprimatur license show LICENCE`).",
    ),
    (
        BudgetReserved,
        "Deliveries in flight hold part of this budget; they expire within a minute. Try again in RETRY s.",
    ),
)
REJECTED = {
    "not_unit_priced": "the licence is not priced per unit: only per_unit licences take usage reports",
    "budget_exhausted": "the units would take the licence past its budget cap (`imprimatur license cap` raises it)",
}
F = TypeVar("F", bound=Callable[..., Any])

# Every operation of the API (functions/openapi.json) is either run by a command (COVERAGE: operation -> command) or
# left out with a reason (EXCLUDED). tests/e2e/test_cli_coverage_e2e.py runs the commands against the local stack and
# fails on an operation that no command called and that is not excluded.
COVERAGE: dict[str, str] = {
    "GET /.well-known/jwks.json": "verify",
    "POST /v1/accounts": "account create",
    "POST /v1/accounts/{id}/suspend": "account suspend",
    "GET /v1/accounts": "accounts list",
    "GET /v1/accounts/{id}": "accounts get",
    "PATCH /v1/accounts/{id}": "accounts edit",
    "POST /v1/accounts/{id}/reinstate": "accounts reinstate",
    "POST /v1/accounts/{id}/keys": "accounts issue-key",
    "POST /v1/accounts/{id}/approve": "accounts approve",
    "PATCH /v1/me": "profile",
    "GET /v1/assets": "asset list",
    "POST /v1/assets": "publish",
    "GET /v1/assets/{id}": "asset show",
    "DELETE /v1/assets/{id}": "asset withdraw",
    "PATCH /v1/assets/{id}": "asset update",
    "POST /v1/assets/{id}/complete": "publish / asset complete",
    "GET /v1/assets/{id}/content": "fetch",
    "GET /v1/assets/{id}/rsl.xml": "asset rsl",
    "GET /v1/balance": "balance",
    "GET /v1/catalog/assets": "search",
    "POST /v1/collections": "collection create",
    "GET /v1/collections/{id}": "collection show",
    "GET /v1/licenses": "licenses",
    "POST /v1/licenses": "buy",
    "GET /v1/licenses/{id}": "license show",
    "PATCH /v1/licenses/{id}": "license cap",
    "POST /v1/licenses/{id}/cancel": "license cancel",
    "GET /v1/licenses/{id}/certificate": "license certificate / verify",
    "POST /v1/licenses/{id}/revoke": "license revoke",
    "GET /v1/me": "whoami",
    "GET /v1/me/keys": "keys list",
    "POST /v1/me/keys": "keys create",
    "DELETE /v1/me/keys/{key_id}": "keys revoke",
    "GET /v1/offers": "offer list",
    "POST /v1/offers": "offer create",
    "GET /v1/offers/{id}": "offer show",
    "DELETE /v1/offers/{id}": "offer retire",
    "POST /v1/pools": "pool create",
    "GET /v1/pools/{id}": "pool show",
    "POST /v1/pools/{id}/distributions": "pool distribute",
    "POST /v1/periods/{period}/close": "period close",
    "POST /v1/pools/{id}/members": "pool join",
    "DELETE /v1/pools/{id}/members/{asset_id}": "pool leave",
    "GET /v1/publishers/{id}": "publisher",
    "GET /v1/publishers/{id}/rsl.xml": "publisher --rsl",
    "GET /v1/statements/{period}": "statement",
    "GET /v1/usage": "usage show",
    "POST /v1/usage": "usage report",
}
EXCLUDED: dict[str, str] = {
    "POST /v1/signup": "self sign-up is a person's first step, before any key or profile exists: the public route, "
    "the mail and its page (docs/publishers.md); the CLI starts once a key is in hand (`imprimatur configure`)",
    "GET /v1/signup/verify": "the page the verification mail links to, for a browser (its button makes the POST)",
    "POST /v1/signup/verify": "made by the verification page's button (or curl, docs/publishers.md): the token comes "
    "from the mail's link, and the answer is the account's first key",
    "GET /v1/health": "a liveness probe for load balancers and monitors; `whoami` checks a profile end to end",
    "GET /v1/status-lists/{n}": "read by verifiers of certificates through the URI in a certificate's status claim "
    "(any IETF Token Status List client); the CLI shows a licence's status from the API itself (`license show`)",
}


@app.callback()
def _global(profile: Annotated[str | None, typer.Option(help="profile from the config file")] = None) -> None:
    STATE["profile"] = profile


def client() -> Client:
    prof = config.resolve(STATE["profile"])
    if prof is None:
        err.print("Not configured. Run `imprimatur configure --url URL --key KEY` (or `--local`).", style="red")
        raise typer.Exit(2)
    return Client(prof.url, prof.key)


def say(text: str, style: str | None = None, *, to: Console | None = None) -> None:
    """Print text that may hold data from the marketplace: never interpreted as markup."""
    (to or out).print(Text(text, style=style or ""), soft_wrap=True)


def raw(text: str) -> None:
    """Write a value meant for a file or a pipe (token, CSV, XML) exactly, without wrapping or styling."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def price_option(text: str | None, flag: str, currency: str | None = None) -> int | None:
    """The micros of a price option; a bad one is a usage error (exit 2) that names the flag."""
    if text is None:
        return None
    try:
        return money.micros(text, flag, currency)
    except money.PriceError as exc:
        raise typer.BadParameter(str(exc).split(": ", 1)[1], param_hint=f"'{flag}'") from None


def _licence_hint(exc: ImprimaturError, license_id: str | None) -> str | None:
    for cls, hint in LICENCE_HINTS:
        if isinstance(exc, cls):
            named = getattr(exc, "license_id", None) or license_id or "LICENCE_ID"
            wait = exc.retry_after if isinstance(exc, BudgetReserved) else None
            return hint.replace("LICENCE", named).replace("RETRY", f"{wait:g}" if wait else "a few")
    return None


@contextmanager
def friendly(license_id: str | None = None) -> Iterator[None]:
    """Expected failures become a short message and an exit code, never a traceback. ``license_id`` (the licence
    the command is about) makes the hints of licence errors name it."""
    try:
        yield
    except (BudgetExhausted, LicenseEnded, LicenseNotActive, BudgetReserved, BudgetBelowPrice, CapBelowSpent) as exc:
        say(
            f"{exc.title or 'Refused'}: {exc.detail} ({exc.status} {exc.code}, request {exc.request_id})", "red", to=err
        )
        say(_licence_hint(exc, license_id) or "", to=err)
        raise typer.Exit(1) from None
    except PaymentRequired as exc:
        say(f"Payment required: {exc.detail}", "yellow", to=err)
        if exc.crawler_price:
            say(f"  per-access price: {exc.crawler_price} (use --max-price to pay per crawl)", to=err)
        for o in exc.offers:
            say(f"  offer {o['id']}: {o['pricing']['model']} {_price(o['pricing'])} for {', '.join(o['uses'])}", to=err)
        say("Buy a licence with `imprimatur buy OFFER_ID --use USE`.", to=err)
        raise typer.Exit(1) from None
    except VerificationFailed as exc:
        say(f"Verification failed: {exc.detail}", "red", to=err)
        raise typer.Exit(3) from None
    except TransportError as exc:
        say(
            f"Cannot reach the marketplace: {exc.detail}\nIs it running (`make run`) and is the URL in your profile "
            "right?",
            "red",
            to=err,
        )
        raise typer.Exit(4) from None
    except ValidationFailed as exc:
        say(f"Invalid request: {exc.detail} ({exc.status} {exc.code}, request {exc.request_id})", "red", to=err)
        for e in exc.errors:
            say(f"  - {e.get('field') or e.get('location')}: {e.get('message')}", to=err)
        raise typer.Exit(1) from None
    except ImprimaturError as exc:
        say(f"{exc.title or 'Error'}: {exc.detail} ({exc.status} {exc.code}, request {exc.request_id})", "red", to=err)
        if exc.status in HINTS:
            say(HINTS[exc.status], to=err)
        raise typer.Exit(1) from None
    except MissingExtra as exc:
        say(str(exc), "red", to=err)
        raise typer.Exit(2) from None
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        say(f"File problem: {exc}", "red", to=err)
        raise typer.Exit(2) from None


def _price(pricing: dict[str, Any]) -> str:
    if pricing["model"] == "free":
        return "free"
    amount = money.show(int(pricing["amount_micros"]), pricing.get("currency", "USD"))
    if pricing.get("unit"):
        amount += f" per {pricing['unit']}"
    if pricing.get("period_days"):
        amount += f" every {pricing['period_days']} days"
    return amount


ID_COLUMNS = {"asset", "offer", "licence", "key", "item"}


def table(*columns: str, title: str | None = None) -> Table:
    """A table that never cuts a cell: id columns keep their width (ids are at most 31 characters) and stay on one
    line, other cells wrap (fold) onto more lines. No vertical borders, so 80 columns hold an id and four amounts."""
    t = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1), show_edge=False)
    for c in columns:
        if c.split(" ")[0] in ID_COLUMNS:
            t.add_column(c, no_wrap=True, min_width=30, overflow="fold")
        else:
            t.add_column(c, overflow="fold")
    return t


def row(t: Table, *cells: Any) -> None:
    t.add_row(*(Text("" if c is None else str(c)) for c in cells))


def emit_json(data: Any) -> None:
    raw(json.dumps(data, indent=2, ensure_ascii=False))


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


JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


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
            say(f"{state_file} not found. Start the marketplace with `make run` first.", "red", to=err)
            raise typer.Exit(2)
        state = config.local_state(state_file)
        url = str(state["api_url"])
        if account == "admin":
            key = str(state["admin_api_key"])
        else:
            people = {p["name"]: p for p in state.get("demo", {}).get("accounts", [])}  # type: ignore[attr-defined]
            if account not in people:
                say(f"No demo account {account!r}. Known: admin, {', '.join(people)}", "red", to=err)
                raise typer.Exit(2)
            key = people[account]["api_key"]
    if not url:
        say("Give --url and --key, or --local.", "red", to=err)
        raise typer.Exit(2)
    path = config.save_profile(profile, url, key)
    say(f"Saved profile {profile} ({url}) in {path}")


@app.command()
def whoami() -> None:
    """Show the account of the configured key."""
    with friendly():
        me = client().me()
    say(f"{me['name']} <{me['email']}>  {me['id']}  roles: {', '.join(me['roles'])}  status: {me['status']}")


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


def _asset_table(assets: list[dict[str, Any]]) -> Table:
    t = table("asset", "title", "status", "bytes")
    for a in assets:
        status = a["status"] + (f" ({a['status_reason']})" if a.get("status_reason") else "")
        row(t, a["id"], a["title"], status, a["size_bytes"])
    return t


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
    json_output: JsonOpt = False,
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
        emit_json(results)
    else:
        out.print(_asset_table(results))
    if any(a["status"] != "available" for a in results):
        raise typer.Exit(3)


@asset_app.command("list")
def asset_list(
    status: Annotated[
        str | None, typer.Option(help="pending_upload, verifying, available, rejected, withdrawn")
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Your own assets, in every status (publisher)."""
    with friendly():
        items = list(client().my_assets(status))
    emit_json(items) if json_output else out.print(_asset_table(items))


@asset_app.command("show")
def asset_show(asset_id: str, json_output: JsonOpt = False) -> None:
    """One asset."""
    with friendly():
        a = client().get_asset(asset_id)
    if json_output:
        emit_json(a)
        return
    for k in ("id", "title", "status", "kind", "media_type", "language", "size_bytes", "sha256", "collection_id"):
        say(f"{k:>13}: {a.get(k) if a.get(k) is not None else '-'}")
    say(f"{'tags':>13}: {', '.join(a.get('tags') or []) or '-'}")


@asset_app.command("update")
def asset_update(
    asset_id: str,
    title: str | None = None,
    description: str | None = None,
    kind: str | None = None,
    language: str | None = None,
    tag: Annotated[list[str] | None, typer.Option(help="replaces the tags (repeatable)")] = None,
    collection: Annotated[str | None, typer.Option(help="collection id")] = None,
) -> None:
    """Change an asset's metadata (owner)."""
    fields = {
        k: v
        for k, v in (
            ("title", title),
            ("description", description),
            ("kind", kind),
            ("language", language),
            ("tags", tag),
            ("collection_id", collection),
        )
        if v is not None
    }
    if not fields:
        say("Nothing to change: give at least one of --title, --description, --kind, --language, --tag.", to=err)
        raise typer.Exit(2)
    with friendly():
        a = client().update_asset(asset_id, **fields)
    say(f"asset {a['id']} updated: {a['title']}")


@asset_app.command("withdraw")
def asset_withdraw(asset_id: str) -> None:
    """Withdraw an asset: no longer served, its offers retired (owner). Existing licences keep their record."""
    with friendly():
        a = client().withdraw_asset(asset_id)
    say(f"asset {a['id']} {a['status']}")


@asset_app.command("complete")
def asset_complete(asset_id: str) -> None:
    """Verify a single-PUT upload made outside this tool (`publish` does this by itself)."""
    with friendly():
        a = client().complete_upload(asset_id)
    say(f"asset {a['id']} {a['status']}" + (f" ({a['status_reason']})" if a.get("status_reason") else ""))
    if a["status"] != "available":
        raise typer.Exit(3)


@asset_app.command("rsl")
def asset_rsl(asset_id: str) -> None:
    """The asset's RSL 1.0 document (XML, unwrapped: redirect it to a file)."""
    with friendly():
        raw(client().rsl(asset_id=asset_id))


@app.command()
def publisher(
    publisher_id: str,
    rsl: Annotated[bool, typer.Option("--rsl", help="print the publisher's RSL 1.0 document instead")] = False,
    json_output: JsonOpt = False,
) -> None:
    """A publisher's public profile (or its RSL document)."""
    with friendly():
        c = client()
        if rsl:
            raw(c.rsl(publisher_id=publisher_id))
            return
        p = c.publisher(publisher_id)
    if json_output:
        emit_json(p)
        return
    say(" ".join(f"{k}: {v}" for k, v in p.items()))


# ------------------------------------------------------------------------------------------- collections
@collection_app.command("create")
def collection_create(title: str, description: Annotated[str | None, typer.Option()] = None) -> None:
    """Create a collection (publisher); publish into it with `publish --collection ID`."""
    with friendly():
        col = client().create_collection(title, description)
    say(f"collection {col['id']}: {col['title']}")


@collection_app.command("show")
def collection_show(collection_id: str, json_output: JsonOpt = False) -> None:
    """A collection (public)."""
    with friendly():
        col = client().get_collection(collection_id)
    emit_json(col) if json_output else say(" ".join(f"{k}: {v}" for k, v in col.items()))


# ------------------------------------------------------------------------------------------------ offers
@offer_app.command("create")
def offer_create(
    asset: Annotated[str | None, typer.Option(help="asset id")] = None,
    collection: Annotated[str | None, typer.Option(help="collection id")] = None,
    pool: Annotated[str | None, typer.Option(help="pool id (admin)")] = None,
    uses: Annotated[
        str, typer.Option(help="comma-separated: ai-train,ai-input,ai-index,search,ai-all,all")
    ] = "ai-input",
    model: Annotated[str, typer.Option(help="per_access, per_unit, flat, subscription, free")] = "per_access",
    price: Annotated[str, typer.Option(help="0.01 or 'USD 0.01' (the currency defaults to --currency)")] = "0",
    currency: Annotated[str, typer.Option(help="ISO 4217 code")] = "USD",
    unit: Annotated[str | None, typer.Option(help="per_unit: what one unit is")] = None,
    period_days: Annotated[int | None, typer.Option(help="subscription period")] = None,
    term_days: Annotated[int | None, typer.Option(help="licence term")] = None,
    max_licenses: Annotated[int | None, typer.Option(help="at most this many licences")] = None,
) -> None:
    """Publish an offer on an asset, a collection or a pool."""
    try:
        cur, amount = money.parse(price, "--price", currency)
    except money.PriceError as exc:
        raise typer.BadParameter(str(exc).split(": ", 1)[1], param_hint="'--price'") from None
    pricing: dict[str, Any] = {"model": model, "amount_micros": amount, "currency": cur}
    if unit:
        pricing["unit"] = unit
    if period_days:
        pricing["period_days"] = period_days
    body: dict[str, Any] = {"uses": [u.strip() for u in uses.split(",") if u.strip()], "pricing": pricing}
    for k, v in (
        ("asset_id", asset),
        ("collection_id", collection),
        ("pool_id", pool),
        ("term_days", term_days),
        ("max_licenses", max_licenses),
    ):
        if v is not None:
            body[k] = v
    with friendly():
        offer = client().create_offer(**body)
    say(f"offer {offer['id']}: {offer['pricing']['model']} {_price(offer['pricing'])} for {', '.join(offer['uses'])}")


def _offer_table(offers: list[dict[str, Any]]) -> Table:
    t = table("offer", "status", "model", "price", "uses")
    for o in offers:
        row(t, o["id"], o["status"], o["pricing"]["model"], _price(o["pricing"]), ",".join(o["uses"]))
    return t


@offer_app.command("list")
def offer_list(
    asset: Annotated[str | None, typer.Option(help="asset id")] = None,
    collection: Annotated[str | None, typer.Option(help="collection id")] = None,
    publisher_id: Annotated[str | None, typer.Option("--publisher", help="publisher account id")] = None,
    pool: Annotated[str | None, typer.Option(help="pool id")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Offers on an asset, a collection, a pool, or of a publisher (public)."""
    scope = {
        k: v
        for k, v in (
            ("asset_id", asset),
            ("collection_id", collection),
            ("publisher_id", publisher_id),
            ("pool_id", pool),
        )
        if v
    }
    if len(scope) != 1:
        say("Give exactly one of --asset, --collection, --publisher, --pool.", "red", to=err)
        raise typer.Exit(2)
    with friendly():
        offers = list(client().offers(**scope))
    emit_json(offers) if json_output else out.print(_offer_table(offers))


@offer_app.command("show")
def offer_show(offer_id: str, json_output: JsonOpt = False) -> None:
    """One offer (public)."""
    with friendly():
        o = client().get_offer(offer_id)
    emit_json(o) if json_output else out.print(_offer_table([o]))


@offer_app.command("retire")
def offer_retire(offer_id: str) -> None:
    """Retire an offer: no new licences; existing licences are untouched."""
    with friendly():
        client().retire_offer(offer_id)
    say(f"offer {offer_id} retired")


# ----------------------------------------------------------------------------------------------- buying
_COVERS = {
    "all": {"all", "ai-all", "ai-train", "ai-input", "ai-index", "search"},
    "ai-all": {"ai-all", "ai-train", "ai-input", "ai-index"},
}


def offer_matches(offer: dict[str, Any], use: str | None, max_price_micros: int | None) -> bool:
    """The same filters as the catalogue search, applied to one offer: it grants ``use`` (directly or through
    ``ai-all``/``all``) and its price is at most ``max_price_micros``."""
    if use and not any(use in _COVERS.get(u, {u}) for u in offer["uses"]):
        return False
    amount = 0 if offer["pricing"]["model"] == "free" else int(offer["pricing"].get("amount_micros") or 0)
    return max_price_micros is None or amount <= max_price_micros


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="words to look for")] = None,
    kind: str | None = None,
    language: str | None = None,
    tag: str | None = None,
    use: str | None = None,
    publisher_id: Annotated[str | None, typer.Option("--publisher", help="publisher account id")] = None,
    collection: Annotated[str | None, typer.Option(help="collection id")] = None,
    max_price: Annotated[str | None, typer.Option(help="highest price: 0.05 or 'USD 0.05'")] = None,
    limit: int = 20,
    json_output: JsonOpt = False,
) -> None:
    """Search the public catalogue; shows only the offers that match --use and --max-price."""
    cap = price_option(max_price, "--max-price")
    filters = {
        "q": query,
        "kind": kind,
        "language": language,
        "tag": tag,
        "use": use,
        "publisher_id": publisher_id,
        "collection_id": collection,
        "max_price_micros": cap,
    }
    with friendly():
        items = []
        for item in client().search(**filters):
            offers = [o for o in item.get("offers", []) if offer_matches(o, use, cap)]
            if (use or cap is not None) and not offers:
                continue
            items.append({**item, "offers": offers})
            if len(items) >= limit:
                break
    if json_output:
        emit_json(items)
        return
    # Two id columns, each id whole on its own line (copy it into `buy`); title, kind and terms under them
    t = Table(box=box.SIMPLE_HEAD, padding=(0, 1), show_edge=False)
    for c in ("asset (title, kind)", "offer (terms)"):
        t.add_column(c, min_width=31, ratio=1, overflow="fold")  # an id (30) never breaks; other text wraps
    for a in items:
        row(
            t,
            f"{a['id']}\n{a['title']}\n{a['kind']}",
            "\n".join(
                f"{o['id']}\n  {o['pricing']['model']} {_price(o['pricing'])} for {','.join(o['uses'])}"
                for o in a["offers"]
            )
            or "no offer",
        )
    out.print(t)


@app.command()
def buy(
    offer_id: str,
    use: Annotated[str, typer.Option(help="the use you license")],
    budget: Annotated[str | None, typer.Option(help="budget cap: 25.00 or 'USD 25.00'")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="run the same purchase again without buying twice (e.g. a job id)")
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Take a licence on an offer; prints the licence id, and the certificate on its own line."""
    cap = price_option(budget, "--budget")
    with friendly():
        got = client().buy(offer_id, use, cap, idempotency_key=idempotency_key)
    if json_output:
        emit_json(got)
        return
    lic = got["license"]
    cap = lic.get("budget_cap_micros")
    capped = f", budget cap {money.show(cap, _currency(lic))}" if cap is not None else ""
    say(f"licence {lic['id']} ({lic['status']}) for {lic['use']}, expires {lic.get('expires_at') or 'never'}{capped}")
    say("certificate:")
    raw(got["certificate"])


def _currency(lic: dict[str, Any]) -> str:
    return str(((lic.get("terms") or {}).get("pricing") or {}).get("currency") or "USD")


def _budget(lic: dict[str, Any], currency: str = "") -> str:
    """``spent 1.20 / left 3.80 / cap 5.00`` on three lines (``no cap`` when uncapped); amounts in the licence's
    currency, named only when ``currency`` is given. A server older than API 1.1 reports no spending: the cap alone."""
    cap = lic.get("budget_cap_micros")
    if "spent_micros" not in lic:
        return "no cap" if cap is None else f"cap {money.show(cap, currency)}"
    lines = [f"spent {money.show(int(lic['spent_micros']), currency)}"]
    if cap is None:
        return "\n".join([*lines, "no cap"])
    left = lic.get("remaining_micros")
    left = int(cap) - int(lic["spent_micros"]) if left is None else int(left)
    return "\n".join([*lines, f"left {money.show(left, currency)}", f"cap {money.show(int(cap), currency)}"])


MODEL_NOTE = {"per_access": "per access", "flat": "flat fee"}  # per_unit and subscription prices already say it


def _party(lic: dict[str, Any], role: str) -> str:
    """``Name (acct_...)`` of a licence's buyer or publisher; the id alone from a server that sends no names."""
    ident = lic.get(f"{role}_id") or "-"
    name = lic.get(f"{role}_name")
    return f"{name} ({ident})" if name else ident


def _license_table(items: list[dict[str, Any]], as_: str = "buyer") -> Table:
    """Licences at 80 columns: whole ids, the other party by name, and whole amounts in the price's currency (the
    budget column repeats no currency)."""
    other = "publisher" if as_ == "buyer" else "buyer"
    t = table(f"licence (scope, {other})", "status, use", "price", "budget")
    for x in items:
        pricing = x["terms"]["pricing"]
        note = MODEL_NOTE.get(pricing["model"])
        who = "\n".join(textwrap.wrap(x.get(f"{other}_name") or x.get(f"{other}_id") or "-", 30))  # ids stay 30 wide
        row(
            t,
            f"{x['id']}\n{x['scope']['id']}\n{who}",
            f"{x['status']}\n{x['use']}",
            _price(pricing) + (f"\n{note}" if note else ""),
            _budget(x),
        )
    return t


@app.command()
def licenses(
    as_: Annotated[str, typer.Option("--as", help="buyer or publisher")] = "buyer",
    status: Annotated[str | None, typer.Option(help="active, cancelled, revoked, lapsed")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Your licences, with what each has spent and has left of its budget cap."""
    with friendly():
        items = list(client().licenses(as_, status))
    emit_json(items) if json_output else out.print(_license_table(items, as_))


def _license_lines(lic: dict[str, Any]) -> list[tuple[str, str]]:
    cur = _currency(lic)
    status = lic["status"]
    when = {"cancelled": "cancelled_at", "revoked": "revoked_at", "lapsed": "lapsed_at"}.get(status)
    if when and lic.get(when):
        status += f" since {lic[when]}"
    if lic.get("revoke_reason"):
        status += f" (reason: {lic['revoke_reason']})"
    pricing = lic["terms"]["pricing"]
    lines = [
        ("id", lic["id"]),
        ("status", status),
        ("offer", lic.get("offer_id") or "-"),
        ("scope", f"{lic['scope'].get('type', '')} {lic['scope']['id']}".strip()),
        ("use", lic["use"]),
        ("price", f"{pricing['model']} {_price(pricing)}"),
    ]
    cap = lic.get("budget_cap_micros")
    lines.append(("budget cap", "none" if cap is None else money.show(int(cap), cur)))
    if "spent_micros" in lic:
        lines.append(("spent", money.show(int(lic["spent_micros"]), cur)))
        if cap is not None:
            left = lic.get("remaining_micros")
            left = int(cap) - int(lic["spent_micros"]) if left is None else int(left)
            lines.append(("left", money.show(left, cur)))
    lines += [
        ("starts", lic.get("starts_at") or "-"),
        ("expires", lic.get("expires_at") or "never"),
        ("buyer", _party(lic, "buyer")),
        ("publisher", _party(lic, "publisher")),
    ]
    return lines


@license_app.command("show")
def license_show(license_id: str, json_output: JsonOpt = False) -> None:
    """One licence (its buyer or publisher): status, terms, and what it has spent and has left of its budget cap."""
    with friendly(license_id):
        lic = client().get_license(license_id)
    if json_output:
        emit_json(lic)
        return
    for k, v in _license_lines(lic):
        say(f"{k:>10}: {v}")
    if lic["status"] == "lapsed":
        say(f"Raise its budget cap (`imprimatur license cap {lic['id']} AMOUNT`) to make it active again.", "yellow")


@license_app.command("cap")
def license_cap(
    license_id: str,
    amount: Annotated[str, typer.Argument(help="the new budget cap: 50 or 'USD 50' (in the licence's currency)")],
    json_output: JsonOpt = False,
) -> None:
    """Raise or lower a licence's budget cap (buyer); never below what it has spent. A licence that lapsed because a
    renewal would have exceeded its cap is active again once the cap is raised."""
    price_option(amount, "AMOUNT")  # the syntax, before any request
    with friendly(license_id):
        c = client()
        before = c.get_license(license_id)
        cur = _currency(before)
        lic = c.set_budget_cap(license_id, price_option(amount, "AMOUNT", cur) or 0)
    if json_output:
        emit_json(lic)
        return
    old = before.get("budget_cap_micros")
    was = f"was {money.show(int(old), cur)}" if old is not None else "was uncapped"
    again = " again" if before["status"] != "active" and lic["status"] == "active" else ""
    cap = int(lic["budget_cap_micros"])
    say(f"licence {lic['id']}: budget cap {money.show(cap, cur)} ({was}); {lic['status']}{again}")
    if "spent_micros" in lic:
        spent = int(lic["spent_micros"])
        left = cap - spent if lic.get("remaining_micros") is None else int(lic["remaining_micros"])
        say(f"spent {money.show(spent, cur)}, {money.show(left, cur)} left")


@license_app.command("certificate")
def license_certificate(license_id: str) -> None:
    """Print the licence's certificate (a JWS) alone on stdout: `> licence.jwt` gives a valid file. Active licences
    only."""
    with friendly(license_id):
        raw(client().certificate(license_id))


@license_app.command("cancel")
def license_cancel(license_id: str) -> None:
    """Cancel a licence (buyer): delivery stops at the next request. Safe to repeat."""
    with friendly():
        lic = client().cancel_license(license_id)
    say(f"licence {lic['id']} {lic['status']}")


@license_app.command("revoke")
def license_revoke(license_id: str, reason: Annotated[str, typer.Option(help="told to the buyer")]) -> None:
    """Revoke a licence (publisher): delivery stops at the next request. Safe to repeat."""
    with friendly():
        lic = client().revoke_license(license_id, reason)
    say(f"licence {lic['id']} {lic['status']}: {lic.get('revoke_reason')}")


@app.command()
def fetch(
    asset_id: str,
    use: Annotated[str, typer.Option(help="the use you need")],
    license_id: Annotated[str | None, typer.Option("--license", help="licence id")] = None,
    max_price: Annotated[str | None, typer.Option(help="pay per crawl up to this: 0.01 or 'USD 0.01'")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="file to write")] = None,
) -> None:
    """Download licensed content to disk and verify its SHA-256."""
    price_option(max_price, "--max-price")
    with friendly(license_id):
        c = client()
        grant = c.content(asset_id, use, license_id=license_id, max_price=max_price)
        dest = output or Path(asset_id)
        with _progress() as prog:
            task = prog.add_task(dest.name[:30], total=grant.size_bytes)
            c.download(grant, dest, progress=_advance(prog, task))
    charged = f", charged {grant.crawler_charged}" if grant.crawler_charged else ""
    say(f"{dest}: {grant.size_bytes} bytes, sha256 verified, licence {grant.license_id}{charged}")


@app.command()
def verify(
    certificate: Annotated[str, typer.Argument(help="a certificate (JWS), a file holding one, or a licence id")],
    jwks_file: Annotated[Path | None, typer.Option("--jwks", help="JWKS file (offline)")] = None,
) -> None:
    """Verify a licence certificate offline against the marketplace's public keys."""
    with friendly():
        from imprimatur_client.certificates import verify_certificate

        token = certificate
        if Path(certificate).is_file():
            token = Path(certificate).read_text().strip()
        c = client() if jwks_file is None or token.startswith("lic_") else None
        if token.startswith("lic_"):
            token = c.certificate(token)  # type: ignore[union-attr]
        decode_claims(token)
        jwks = json.loads(jwks_file.read_text()) if jwks_file else c.jwks()  # type: ignore[union-attr]
        claims = verify_certificate(token, jwks)
    say(
        f"valid licence {claims['license_id']}: {claims['use']} on {claims['scope']['type']} "
        f"{claims['scope']['id']} for {claims['buyer_id']}, terms sha256 {claims['terms_sha256']}",
        "green",
    )


# ------------------------------------------------------------------------------------------------ pools
@pool_app.command("create")
def pool_create(name: str, description: Annotated[str, typer.Option()] = "") -> None:
    """Create a pool (admin); then `offer create --pool ID`."""
    with friendly():
        p = client().create_pool(name, description)
    say(f"pool {p['id']}: {p['name']}")


@pool_app.command("show")
def pool_show(pool_id: str, json_output: JsonOpt = False) -> None:
    """A pool (public)."""
    with friendly():
        p = client().get_pool(pool_id)
    emit_json(p) if json_output else say(" ".join(f"{k}: {v}" for k, v in p.items()))


@pool_app.command("join")
def pool_join(
    pool_id: str,
    asset: Annotated[list[str] | None, typer.Option(help="asset id (repeatable)")] = None,
    collection: Annotated[list[str] | None, typer.Option(help="collection id (repeatable)")] = None,
) -> None:
    """Opt assets and/or collections into a pool (publisher)."""
    with friendly():
        got = client().join_pool(pool_id, asset, collection)
    say(f"pool {got['pool_id']}: {len(got['asset_ids'])} asset(s) joined: {', '.join(got['asset_ids'])}")


@pool_app.command("leave")
def pool_leave(pool_id: str, asset_id: str) -> None:
    """Opt an asset out of a pool from the next period (publisher)."""
    with friendly():
        got = client().leave_pool(pool_id, asset_id)
    say(f"asset {got['asset_id']} leaves pool {got['pool_id']} at {got['leaves_at']}")


def _distribution_tables(got: dict[str, Any]) -> None:
    """One block per currency: what the pool had to share (net revenue + carried in), what its members got and what
    it keeps for a later period (carried forward), then each member and each carried charge."""
    say(
        f"pool {got['pool_id']}: {got['period']} distributed, booked in {got.get('booked_period') or got['period']} "
        f"({got.get('remainder_rule') or 'largest remainder'})"
    )
    if not got.get("currencies"):
        say("nothing to distribute: no pool revenue in that period")
    for c in got.get("currencies", []):
        cur = c["currency"]
        say(
            f"{cur}: net revenue {money.show(c['net_revenue_micros'], '')} + carried in "
            f"{money.show(c['carried_in_micros'], '')} = shares {money.show(c['shares_micros'], '')} + carried "
            f"forward {money.show(c['carried_forward_micros'], '')}"
        )
        if not c.get("members"):
            say("  no member asset was used under the pool's licences")
        t = table("asset (and publisher)", "accesses", "charged", "share")
        for m in c.get("members", []):
            row(
                t,
                f"{m['asset_id']}\n{m['publisher_id']}",
                m["accesses"],
                money.show(m["charged_micros"], ""),
                f"{money.show(m['share_micros'], '')}\nattributed {money.show(m['attributed_micros'], '')}\n"
                f"carried {money.show(m['carried_share_micros'], '')}",
            )
        if c.get("members"):
            out.print(t)
        for k in c.get("carried", []):
            say(
                f"  carried forward: {money.show(k['amount_micros'], cur)} of licence {k['license_id']} earned in "
                f"{k['since_period']} ({k['reason']}: no use under it yet)"
            )


@pool_app.command("distribute")
def pool_distribute(
    pool_id: str, period: Annotated[str, typer.Argument(help="YYYY-MM, a closed period")], json_output: JsonOpt = False
) -> None:
    """Split a pool's net revenue of a closed period between its members, per currency (admin). What no use earned
    yet is carried forward and shown."""
    with friendly():
        try:
            got = client().distribute_pool(pool_id, period)
        except PeriodOpen as exc:
            say(f"Refused: {exc.detail} ({exc.status} {exc.code}, request {exc.request_id})", "red", to=err)
            say(
                f"Only a closed period's pool revenue is distributed. Close it first: `imprimatur period close "
                f"{period}` (a past month; the monthly job closes the previous month on the 1st).",
                to=err,
            )
            raise typer.Exit(1) from None
    if json_output:
        emit_json(got)
        return
    _distribution_tables(got)


@period_app.command("close")
def period_close(
    period: Annotated[str, typer.Argument(help="YYYY-MM, a past month")], json_output: JsonOpt = False
) -> None:
    """Close a past month for good (admin): its statements never change again and carry closed_at and a sha256;
    its pools can then be distributed. Safe to repeat; the monthly job closes the previous month on the 1st."""
    with friendly():
        got = client().close_period(period)
    if json_output:
        emit_json(got)
        return
    say(f"period {got['period']} {got['status']} at {got['closed_at']}: {got['statements']} statement(s) frozen")


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
                    say(f"{file}:{n} is not JSON", "red", to=err)
                    raise typer.Exit(2) from None
        got = client().report_usage(events)
    say(f"accepted {got['accepted']}, duplicates {got['duplicates']}, rejected {len(got['rejected'])}")
    for r in got["rejected"]:
        why = REJECTED.get(r["code"])
        say(f"  rejected {r['event_id']}: {r['code']}" + (f" ({why})" if why else ""))


@usage_app.command("show")
def usage_show(
    group_by: Annotated[str, typer.Option(help="day, asset, license, buyer, publisher")] = "day",
    from_: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
    to: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    as_: Annotated[str | None, typer.Option("--as", help="buyer or publisher")] = None,
    license_id: Annotated[str | None, typer.Option("--license", help="one licence")] = None,
    asset_id: Annotated[str | None, typer.Option("--asset", help="one asset")] = None,
    csv: Annotated[bool, typer.Option("--csv")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Usage and amounts, grouped."""
    with friendly():
        items = client().usage(group_by=group_by, from_=from_, to=to, as_=as_, license_id=license_id, asset_id=asset_id)
    if json_output:
        emit_json(items)
        return
    if csv:
        raw("key,units,accesses,amount_micros")
        for i in items:
            raw(f"{i['key']},{i['units']},{i['accesses']},{i['amount_micros']}")
        return
    t = table(group_by, "units", "accesses", "amount")
    for i in items:
        row(t, i["key"], i["units"], i["accesses"], money.show(i["amount_micros"], i.get("currency", "USD")))
    out.print(t)


@app.command()
def balance(currency: str = "USD", json_output: JsonOpt = False) -> None:
    """What you owe (negative) or have earned."""
    with friendly():
        b = client().balance(currency)
    if json_output:
        emit_json(b)
        return
    say(f"{money.show(b['balance_micros'], b['currency'])}  ({b['balance_micros']} micros)")


def _totals(st: dict[str, Any]) -> list[dict[str, Any]]:
    """Statement totals as a list, one per currency (API v1.1); an older single object is read as one entry."""
    t = st["totals"]
    if isinstance(t, list):
        return t
    currency = next((ln.get("currency") for ln in st["lines"] if ln.get("currency")), "USD")
    return [{"currency": currency, **t}]


@app.command()
def statement(
    period: Annotated[str | None, typer.Argument(help="YYYY-MM (default: this month)")] = None,
    csv: Annotated[bool, typer.Option("--csv")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Your monthly statement, as a table, CSV or JSON. Amounts are exact (in their currency)."""
    period = period or datetime.now(UTC).strftime("%Y-%m")
    with friendly():
        c = client()
        if csv:
            sys.stdout.write(c.statement(period, csv=True))
            return
        st = c.statement(period)
    if json_output:
        emit_json(st)
        return
    status = st.get("status", "open")
    t = table(
        "item (licence, asset, use)",
        "cur",
        "units",
        "gross",
        "fee",
        "net",
        title=f"{st['account_id']} {period} {status}",
    )
    for x in st["lines"]:
        row(
            t,
            f"{x['license_id']}\n{x.get('asset_id') or '-'}\n{x['use']}",
            x.get("currency", "USD"),
            x["units"],
            money.show(x["gross_micros"], ""),
            money.show(x["fee_micros"], ""),
            money.show(x["net_micros"], ""),
        )
    totals = _totals(st)
    for tot in totals:
        row(
            t,
            f"TOTAL {tot['currency']}",
            tot["currency"],
            tot.get("units", ""),
            money.show(tot["gross_micros"], ""),
            money.show(tot["fee_micros"], ""),
            money.show(tot["net_micros"], ""),
        )
    out.print(t)
    for tot in totals:
        if tot.get("distributions_micros"):
            say(f"pool distributions booked in {period}: {money.show(tot['distributions_micros'], tot['currency'])}")
    for d in st.get("distributions", []):
        say(_distribution_line(d))
    if status == "closed":
        say(f"closed at {st.get('closed_at')}; sha256 {st.get('sha256')} (this statement never changes again)")
    else:
        say("open: amounts can still change until the period is closed")


def _distribution_line(d: dict[str, Any]) -> str:
    """A pool distribution booked on a statement: a member's share, or on the pool's own statement what it paid out
    with the revenue it carried in and carries forward (API 1.1); an older server's units-based line as it was."""
    cur = d.get("currency", "USD")
    of = f" of {d['distributed_period']}" if d.get("distributed_period") else ""
    if "accesses" not in d and "units" in d:  # a server older than API 1.1
        return (
            f"pool {d['pool_id']}: share {money.show(d['share_micros'], cur)} for {d['units']} of "
            f"{d.get('pool_units', '?')} units (pool net {money.show(d.get('pool_net_micros', 0), cur)})"
        )
    pool_net = f"pool net {money.show(d.get('pool_net_micros', 0), cur)}"
    if d["share_micros"] < 0 or d.get("carried_in_micros") or d.get("carried_forward_micros"):
        return (
            f"pool {d['pool_id']}: distribution{of} paid out {money.show(-d['share_micros'], cur)} ({pool_net}, "
            f"carried in {money.show(d.get('carried_in_micros', 0), cur)}, carried forward "
            f"{money.show(d.get('carried_forward_micros', 0), cur)})"
        )
    return (
        f"pool {d['pool_id']}: share{of} {money.show(d['share_micros'], cur)} for {d.get('accesses', 0)} accesses "
        f"charged {money.show(d.get('charged_micros', 0), cur)} ({pool_net})"
    )


# ---------------------------------------------------------------------------------------- accounts, keys
@account_app.command("create")
def account_create(
    name: str,
    email: str,
    role: Annotated[list[str], typer.Option(help="publisher, buyer, admin (repeatable)")],
) -> None:
    """Create an account (admin) and print its API key once."""
    with friendly():
        got = client().create_account(name, email, role)
    say(f"account {got['account']['id']} created; API key (shown once):")
    raw(got["api_key"])


@account_app.command("suspend")
def account_suspend(account_id: str) -> None:
    """Suspend an account (admin): its keys stop working."""
    with friendly():
        a = client().suspend_account(account_id)
    say(f"account {a['id']} {a['status']}")


def _account_lines(a: dict[str, Any]) -> list[str]:
    profile = a.get("profile") or {}
    lines = [
        f"{a['id']}  {a['name']} <{a['email']}>",
        f"status {a['status']}; roles {', '.join(a.get('roles', []))}; created {a.get('created_at', '')}",
    ]
    if a.get("updated_at"):
        lines.append(f"last changed {a['updated_at']} by {a.get('updated_by') or '?'}")
    lines += [f"{k.replace('_', ' ')}: {v}" for k, v in profile.items() if v]
    return lines


@account_app.command("list")
def accounts_list(
    q: Annotated[
        str | None, typer.Argument(help="prefix of a name (from any word on), an e-mail or a display name")
    ] = None,
    status: Annotated[str | None, typer.Option(help="active, pending or suspended")] = None,
    role: Annotated[str | None, typer.Option(help="publisher, buyer or admin")] = None,
    limit: Annotated[int, typer.Option(help="show at most this many")] = 50,
    json_output: JsonOpt = False,
) -> None:
    """List or search accounts (admin), newest first; each id whole on its own line."""
    with friendly():
        items = list(islice(client().accounts(q, status=status, role=role), limit))
    if json_output:
        emit_json(items)
        return
    for a in items:
        out.print(a["id"], markup=False, soft_wrap=True)
        out.print(
            f"  {a['name']} <{a['email']}>  {a['status']}  {','.join(a.get('roles', []))}", markup=False, soft_wrap=True
        )
    if not items:
        say("no account matches")


@account_app.command("get")
def accounts_get(account_id: str, json_output: JsonOpt = False) -> None:
    """One account (admin): status, roles, profile, and who changed it last."""
    with friendly():
        a = client().get_account(account_id)
    if json_output:
        emit_json(a)
        return
    for line in _account_lines(a):
        out.print(line, markup=False, soft_wrap=True)


@account_app.command("edit")
def accounts_edit(
    account_id: str,
    name: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    role: Annotated[list[str] | None, typer.Option(help="the account's roles (repeatable; replaces them all)")] = None,
    display_name: Annotated[str | None, typer.Option(help="a publisher's public display name")] = None,
) -> None:
    """Edit an account (admin): name, e-mail, roles, display name. Fields left out are kept."""
    fields: dict[str, Any] = {k: v for k, v in (("name", name), ("email", email), ("roles", role)) if v}
    if display_name is not None:
        fields["profile"] = {"display_name": display_name}
    if not fields:
        err.print("Nothing to change: give --name, --email, --role or --display-name.", style="red")
        raise typer.Exit(2)
    with friendly():
        a = client().update_account(account_id, **fields)
    for line in _account_lines(a):
        out.print(line, markup=False, soft_wrap=True)


@account_app.command("reinstate")
def accounts_reinstate(account_id: str) -> None:
    """Undo a suspension (admin): the account's keys work again."""
    with friendly():
        a = client().reinstate_account(account_id)
    say(f"account {a['id']} {a['status']}")


@account_app.command("approve")
def accounts_approve(account_id: str) -> None:
    """Approve an account that signed up and awaits an operator (admin)."""
    with friendly():
        a = client().approve_account(account_id)
    say(f"account {a['id']} {a['status']}")


@account_app.command("issue-key")
def accounts_issue_key(account_id: str) -> None:
    """Issue a key for an account that lost its own (admin); printed once, alone on stdout."""
    with friendly():
        got = client().issue_key(account_id)
    say(f"key {got['key_id']} issued for {account_id}; the secret is shown once:", to=err)
    raw(got["api_key"])


@app.command("profile")
def profile(
    display_name: Annotated[str | None, typer.Option(help="the name buyers see")] = None,
    website: Annotated[str | None, typer.Option(help="https:// URL")] = None,
    description: Annotated[str | None, typer.Option()] = None,
    logo_url: Annotated[str | None, typer.Option(help="https:// URL of a logo image")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Edit your public profile (publisher): shown in the catalogue, on licences and in RSL documents."""
    fields = {
        k: v
        for k, v in (
            ("display_name", display_name),
            ("website", website),
            ("description", description),
            ("logo_url", logo_url),
        )
        if v is not None
    }
    with friendly():
        c = client()
        me = c.update_profile(**fields) if fields else c.me()
    if json_output:
        emit_json(me.get("profile") or {})
        return
    shown = me.get("profile") or {}
    if not shown:
        say("no public profile yet: set one with --display-name, --website, --description, --logo-url")
    for k, v in shown.items():
        if v:
            out.print(f"{k.replace('_', ' ')}: {v}", markup=False, soft_wrap=True)


@keys_app.command("list")
def keys_list(json_output: JsonOpt = False) -> None:
    """Your API keys (never the secret)."""
    with friendly():
        items = list(client().keys())
    if json_output:
        emit_json(items)
        return
    t = table("key", "status", "created", "last used")
    for k in items:
        row(t, k.get("key_id") or k.get("id"), k.get("status", ""), k.get("created_at", ""), k.get("last_used_at", ""))
    out.print(t)


@keys_app.command("create")
def keys_create() -> None:
    """Create another API key; printed once, alone on stdout (pipe it into your secret store)."""
    with friendly():
        got = client().create_key()
    say(f"key {got['key_id']} created; the secret is shown once:", to=err)
    raw(got["api_key"])


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke one of your keys (it stops working within the documented cache TTL)."""
    with friendly():
        client().revoke_key(key_id)
    say(f"key {key_id} revoked")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
