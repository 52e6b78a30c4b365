"""``landwatch stac``: publish a run as a STAC catalog, validate a STAC catalog.

A thin Typer sub-app over :mod:`landwatch.io.stac`. Errors print as one red line and
exit 2 through the helpers of :mod:`landwatch.cli` (imported when a command runs); a
catalog that reads but fails validation prints its problems and exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from landwatch.errors import LandwatchError

stac_app = typer.Typer(
    help="STAC catalogs: publish a run's COGs with their metadata and provenance; validate "
    "a catalog offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@stac_app.command("publish")
def publish(
    run_dir: Annotated[
        Path,
        typer.Argument(
            help="Output folder of a landwatch workflow (sdg1531, ldn, drought so3): its "
            "manifest.json and COG maps."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for a self-contained catalog with copies of the COGs, manifest and "
            "tables (written atomically). Default: catalog.json inside RUN_DIR."
        ),
    ] = None,
    title: Annotated[str | None, typer.Option(help="Title of the collection.")] = None,
    base_href: Annotated[
        str | None,
        typer.Option(
            "--base-href",
            help="URL where the catalog will be served: the root gets a self link there "
            "(relative published catalog). Default: self-contained, no self links.",
        ),
    ] = None,
    license: Annotated[str, typer.Option(help="SPDX licence identifier of the outputs.")] = "other",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing catalog.")] = False,
) -> None:
    """Publish a run folder as a STAC Catalog: an Item per period/year with an asset per
    COG (projection, raster, file, classification, processing fields) and the run's
    manifest as provenance; then validate it.

    Example:

        landwatch stac publish demo/sdg1531 --out demo/sdg1531_stac
    """
    from landwatch.cli import _fail, out_console
    from landwatch.io.stac import publish_stac, validate_stac

    try:
        catalog = publish_stac(
            run_dir, out, title=title, base_href=base_href, license=license, overwrite=overwrite
        )
        report = validate_stac(catalog)
    except (LandwatchError, OSError) as exc:
        _fail(exc)
        return
    _print_report(report, out_console)
    out_console.print(f"Catalog: [bold]{catalog}[/]")
    if not report.ok:
        raise typer.Exit(code=1)


@stac_app.command("validate")
def validate(
    catalog: Annotated[
        Path, typer.Argument(help="catalog.json / collection.json / item / ItemCollection.")
    ],
    schema_dir: Annotated[
        Path | None,
        typer.Option(
            "--schema-dir",
            help="Local folder of STAC extension schemas laid out as "
            "<name>/v<version>/schema.json (default: $LANDWATCH_STAC_SCHEMA_DIR). Without "
            "it extension schemas are not validated (nothing is downloaded).",
        ),
    ] = None,
    no_checksums: Annotated[
        bool, typer.Option("--no-checksums", help="Do not recompute file:checksum.")
    ] = False,
) -> None:
    """Validate every object of a STAC catalog offline (core schemas from pystac, extension
    fields through pystac's typed classes, checksums against the files). Exit 1 when it is
    not valid.

    Example:

        landwatch stac validate demo/sdg1531_stac/catalog.json
    """
    from landwatch.cli import _fail, out_console
    from landwatch.io.stac import validate_stac

    try:
        report = validate_stac(catalog, schema_dir=schema_dir, check_files=not no_checksums)
    except (LandwatchError, OSError) as exc:
        _fail(exc)
        return
    _print_report(report, out_console)
    if not report.ok:
        raise typer.Exit(code=1)


def _print_report(report: object, console: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from landwatch.io.stac import StacValidationReport

    assert isinstance(report, StacValidationReport)
    assert isinstance(console, Console)
    table = Table(title=f"{report.root_type} {report.root_id}: {len(report.items)} items")
    table.add_column("item")
    table.add_column("time")
    table.add_column("assets")
    for it in report.items:
        table.add_row(str(it["id"]), str(it["datetime"]), ", ".join(it["assets"]))
    console.print(table)
    console.print(
        f"{report.objects} objects validated against the core STAC schemas (offline, bundled "
        f"with pystac); {report.field_checks} extension field checks; "
        f"{report.files_checked} checksums compared with the files."
    )
    if report.extension_schemas_validated:
        console.print(
            "Extension schemas validated: " + ", ".join(sorted(report.extension_schemas_validated))
        )
    if report.extension_schemas_not_validated:
        console.print(
            "[yellow]Not validated offline[/] (no local copy; set LANDWATCH_STAC_SCHEMA_DIR or "
            "--schema-dir): " + ", ".join(sorted(report.extension_schemas_not_validated)),
            highlight=False,
        )
    if not report.self_contained:
        console.print("[yellow]note:[/] the catalog has absolute links or asset hrefs.")
    if report.ok:
        console.print("[green]valid[/]")
    else:
        for err in report.errors[:50]:
            console.print(f"[red]invalid:[/] {err}", highlight=False, soft_wrap=True)
        if len(report.errors) > 50:
            console.print(f"... and {len(report.errors) - 50} more problems")
