"""Console helpers shared by the milestones (rich + NumPy only; nothing here depends on tinytorch)."""
from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text


def console_or_default(console=None) -> Console:
    return console if console is not None else Console()


def story(console: Console, title: str, year, text: str) -> None:
    """The short historical story a milestone opens with."""
    paragraphs = [" ".join(part.split()) for part in text.strip().split("\n\n")]
    console.print(Panel("\n\n".join(paragraphs), title=f"[bold]{title} ({year})[/]", border_style="cyan", expand=False))


def progress(console: Console) -> Progress:
    """A progress bar with a free-text `info` field for the latest loss/accuracy."""
    return Progress(TextColumn("[bold blue]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TextColumn("{task.fields[info]}"), console=console)


def results(console: Console, title: str, rows: list[tuple[str, str, str, bool | None]], passed: bool) -> None:
    """Final table: (metric, value, target, ok) rows, then a one-line verdict."""
    table = Table(title=title, title_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("", justify="center")
    for name, value, target, ok in rows:
        mark = "" if ok is None else ("[green]✓[/]" if ok else "[red]✗[/]")
        table.add_row(name, value, target, mark)
    console.print(table)
    console.print("[bold green]Milestone passed.[/]" if passed else "[bold red]Milestone not passed yet.[/]")


def decision_map(predict, points: np.ndarray, labels: np.ndarray, width: int = 44, height: int = 16,
                 margin: float = 0.25) -> Text:
    """ASCII picture of a 2-D binary classifier: `predict(grid (M, 2)) -> (M,) 0/1`; data points drawn on top."""
    lo, hi = points.min(axis=0) - margin, points.max(axis=0) + margin
    xs = np.linspace(lo[0], hi[0], width)
    ys = np.linspace(hi[1], lo[1], height)
    gx, gy = np.meshgrid(xs, ys)
    regions = np.asarray(predict(np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32))).reshape(height, width)
    chars = np.where(regions > 0, "░", "·").astype(object)
    cols = np.clip(np.round((points[:, 0] - lo[0]) / (hi[0] - lo[0]) * (width - 1)).astype(int), 0, width - 1)
    rows = np.clip(np.round((hi[1] - points[:, 1]) / (hi[1] - lo[1]) * (height - 1)).astype(int), 0, height - 1)
    for r, c, label in zip(rows, cols, labels):
        chars[r, c] = "●" if label > 0 else "○"
    text = Text()
    for r in range(height):
        for ch in chars[r]:
            text.append(ch, style="bold magenta" if ch == "●" else "bold cyan" if ch == "○"
                        else "magenta" if ch == "░" else "dim")
        text.append("\n")
    text.append("○ class 0   ● class 1   · predicted 0   ░ predicted 1", style="dim")
    return text
