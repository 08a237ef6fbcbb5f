"""The ``triad`` command."""
import typer

app = typer.Typer(no_args_is_help=True)


@app.command()
def version() -> None:
    """Print adtriad's version."""
    from adtriad import __version__
    print(__version__)


def main() -> None:
    app()
