"""PNG plots of the benchmark parts, drawn from each part's JSON document (so a saved
``<part>.json`` can be plotted again). matplotlib is the optional ``report`` extra, as for
``mec5g report``; ``--no-plots`` skips it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mec5g.bench.results import Plotter
from mec5g.bench.schemes import ENTITIES


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, or a message saying how to get it."""
    try:
        import matplotlib as mpl
    except ImportError as error:
        raise RuntimeError(
            "plots need matplotlib: pip install 'mec5g[report]' (or pass --no-plots)"
        ) from error
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot().close(figure)
    return path


def computation(data: dict[str, Any], directory: Path) -> list[Path]:
    """Median CPU time per entity and scheme, p99 as the whisker, log scale."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(8, 4))
    schemes = data["schemes"]
    width = 0.8 / max(len(schemes), 1)
    for index, (name, measured) in enumerate(schemes.items()):
        positions, medians, whiskers = [], [], []
        for place, entity in enumerate(ENTITIES):
            figures = measured["entities"].get(entity)
            if figures is None:
                continue
            positions.append(place + index * width)
            medians.append(figures["median_us"])
            whiskers.append(figures["p99_us"] - figures["median_us"])
        axis.bar(positions, medians, width, yerr=[[0] * len(whiskers), whiskers], label=name)
    axis.set_xticks([place + width * (len(schemes) - 1) / 2 for place in range(len(ENTITIES))])
    axis.set_xticklabels(ENTITIES)
    axis.set_yscale("log")
    axis.set_ylabel("CPU µs per handshake (median, whisker to p99)")
    axis.set_title(f"Computation per entity, {data['runs']:,} runs")
    axis.legend()
    return [_save(figure, directory / "computation.png")]


def messages(data: dict[str, Any], directory: Path) -> list[Path]:
    """Bits per message: each scheme's own bits, extensions stacked on top, Table 2 beside."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(9, 4))
    labels, own, extra = [], [], []
    for name, measured in data["schemes"].items():
        for message in measured["messages"]:
            labels.append(f"{name}\n{message['name']}")
            own.append(message["bits"])
            extra.append(message["extension_bits"])
    for scheme, published in data["paper_table_2"].items():
        for message, bits in published.items():
            labels.append(f"paper {scheme}\n{message}")
            own.append(bits)
            extra.append(0)
    places = range(len(labels))
    axis.bar(places, own, label="the scheme's bits")
    axis.bar(places, extra, bottom=own, label="extensions (ours)")
    axis.set_xticks(list(places))
    axis.set_xticklabels(labels, fontsize="x-small", rotation=90)
    axis.set_ylabel("bits")
    axis.set_title("Bits per message")
    axis.legend()
    return [_save(figure, directory / "messages.png")]


def concurrency(data: dict[str, Any], directory: Path) -> list[Path]:
    """Rate and latency against concurrency, each scheme's handshakes and the echo chain."""
    plt = pyplot()
    figure, (rate_axis, latency_axis) = plt.subplots(1, 2, figsize=(11, 4))
    levels = data["levels"]
    concurrencies = [level["concurrency"] for level in levels]
    topologies = [(name, name) for name in data["schemes"]] + [("echo", "echo chain")]
    for key, label in topologies:

        def figures(level: dict[str, Any], key: str = key) -> dict[str, Any]:
            found: dict[str, Any] = level["echo"] if key == "echo" else level["schemes"][key]
            return found

        rate_axis.plot(
            concurrencies, [figures(level)["per_second"] for level in levels], "o-", label=label
        )
        for quantile in ("p50", "p99"):
            latency_axis.plot(
                concurrencies,
                [figures(level)[f"{quantile}_ms"] for level in levels],
                "o-" if quantile == "p50" else "x--",
                label=f"{label} {quantile}",
            )
    for axis in (rate_axis, latency_axis):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("concurrency (requests in flight)")
        axis.legend(fontsize="small")
    rate_axis.set_ylabel("per second")
    rate_axis.set_title("End-to-end rate over gRPC")
    latency_axis.set_yscale("log")
    latency_axis.set_ylabel("latency, ms")
    latency_axis.set_title("Latency")
    return [_save(figure, directory / "concurrency.png")]


def growth(data: dict[str, Any], directory: Path) -> list[Path]:
    """Answer rates and store bytes per device against registered devices."""
    plt = pyplot()
    figure, (rate_axis, size_axis) = plt.subplots(1, 2, figsize=(11, 4))
    points = data["points"]
    devices = [point["devices"] for point in points]
    rate_axis.plot(
        devices, [point["in_process"]["per_second"] for point in points], "o-", label="in-process"
    )
    if all("end_to_end" in point for point in points):
        rate_axis.plot(
            devices,
            [point["end_to_end"]["per_second"] for point in points],
            "s-",
            label="end-to-end over gRPC",
        )
    rate_axis.set_ylabel("key agreements per second")
    rate_axis.set_title("TTP rate by registered devices")
    rate_axis.legend()
    size_axis.plot(devices, [point["bytes_per_device"] for point in points], "o-")
    size_axis.set_ylabel("store bytes per device")
    size_axis.set_title("Key store size")
    for axis in (rate_axis, size_axis):
        axis.set_xscale("log")
        axis.set_xlabel("registered devices")
        axis.set_ylim(bottom=0)
    return [_save(figure, directory / "growth.png")]


def hardware(data: dict[str, Any], directory: Path) -> list[Path]:
    """Figure 4's comparison, emulated per entity on its hardware, with real time beside."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(9, 4.5))
    entities = data["entities"]
    series = list(next(iter(entities.values()))["emulated_us"])
    width = 0.8 / (len(series) + 1)
    for index, name in enumerate(series):
        axis.bar(
            [place + index * width for place in range(len(entities))],
            [1e-3 * figures["emulated_us"][name] for figures in entities.values()],
            width,
            label=f"emulated: {name}",
        )
    axis.bar(
        [place + len(series) * width for place in range(len(entities))],
        [1e-3 * figures["measured_here_median_us"] for figures in entities.values()],
        width,
        label="measured on this machine (median)",
        hatch="//",
        color="lightgrey",
    )
    axis.set_xticks([place + width * len(series) / 2 for place in range(len(entities))])
    axis.set_xticklabels(
        [f"{entity}\n{figures['paper_hardware']}" for entity, figures in entities.items()]
    )
    axis.set_yscale("log")
    axis.set_ylabel("computation per handshake, ms")
    assumed = any(
        figure["assumption"] is not None
        for profile in data["profiles"].values()
        for figure in profile["operations"].values()
    )
    costs = "some costs are assumptions" if assumed else "published costs"
    axis.set_title(f"Figure 4, emulated per entity ({costs}: see hardware.md)")
    axis.legend(fontsize="small")
    return [_save(figure, directory / "hardware.png")]


def phases(data: dict[str, Any], directory: Path) -> list[Path]:
    """Each phase's latency over gRPC: the median, the 95th percentile as the whisker."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 3.5))
    timed = [phase for phase in data["phases"] if phase["latency"] is not None]
    medians = [phase["latency"]["p50_ms"] for phase in timed]
    above = [phase["latency"]["p95_ms"] - phase["latency"]["p50_ms"] for phase in timed]
    axis.bar(range(len(timed)), medians, yerr=[[0.0] * len(timed), above], capsize=4)
    axis.set_xticks(range(len(timed)))
    axis.set_xticklabels([phase["name"].split(": ", 1)[1] for phase in timed], fontsize="small")
    axis.set_ylabel("ms (median; whisker: p95)")
    axis.set_title("Phases 4-6 end to end over gRPC on loopback")
    return [_save(figure, directory / "phases.png")]


PLOTTERS: dict[str, Plotter] = {
    "computation": computation,
    "messages": messages,
    "concurrency": concurrency,
    "growth": growth,
    "hardware": hardware,
    "phases": phases,
}
