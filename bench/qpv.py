"""QPV lookup: the STRtree index against scanning every polygon, side by side in one run.

    python -m bench.qpv [--points 20000] [--geojson ../shared/data/qpv/qpv2024.geojson]

Half the points fall inside real QPVs (jittered around a point of each polygon), half anywhere in
mainland France. Both methods must give the same QPV for every point.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import shapely

from bench.common import machine, percentiles
from services.core.geo.qpv import QpvHit, QpvIndex, QpvPolygon
from services.core.referentials.qpv_import import parse_qpv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--geojson", type=Path, default=Path("../shared/data/qpv/qpv2024.geojson"))
    args = parser.parse_args()

    rows = parse_qpv(args.geojson)
    polygons = [
        QpvPolygon(code=r.code, name=r.name, insee_codes=tuple(r.insee_codes),
                   geometry=shapely.from_wkb(r.geometry))
        for r in rows
    ]  # fmt: skip
    started = time.perf_counter()
    index = QpvIndex(polygons)
    build_ms = (time.perf_counter() - started) * 1000

    rng = random.Random(2024)
    points: list[tuple[float, float]] = []
    for _ in range(args.points // 2):
        anchor = shapely.point_on_surface(rng.choice(polygons).geometry)
        points.append(
            (anchor.x + rng.uniform(-0.002, 0.002), anchor.y + rng.uniform(-0.002, 0.002))
        )
        points.append((rng.uniform(-4.8, 8.2), rng.uniform(42.3, 51.1)))

    geometries = [p.geometry for p in polygons]
    codes = [p.code for p in polygons]
    shapely.prepare(geometries)

    def scan(lon: float, lat: float) -> str | None:
        for code, geometry in zip(codes, geometries, strict=True):
            if shapely.intersects_xy(geometry, lon, lat):
                return code
        return None

    index_us: list[float] = []
    scan_us: list[float] = []
    inside = 0
    scanned = points[: max(1, len(points) // 10)]  # the scan is slow: a tenth of the points
    for number, (lon, lat) in enumerate(points):
        t0 = time.perf_counter()
        result = index.lookup(lon, lat)
        index_us.append((time.perf_counter() - t0) * 1e6)
        found = result.code if isinstance(result, QpvHit) else None
        inside += found is not None
        if number < len(scanned):
            t0 = time.perf_counter()
            expected = scan(lon, lat)
            scan_us.append((time.perf_counter() - t0) * 1e6)
            if expected != found:
                raise SystemExit(f"disagreement at point {number}: {found} != {expected}")

    tree, naive = percentiles(index_us), percentiles(scan_us)
    print(f"## QPV lookup — {time.strftime('%Y-%m-%d')}\n")
    print(f"Machine: {machine()}.")
    print(f"Command: `python -m bench.qpv --points {args.points}`.\n")
    print(
        f"{len(polygons)} polygons, index built in {build_ms:.0f} ms; {inside} of "
        f"{len(points)} points inside a QPV; both methods agree on every scanned point.\n"
    )
    print("| method | points | p50 µs | p95 µs | max µs |")
    print("|---|---|---|---|---|")
    print(
        f"| STRtree index + near-boundary check (`QpvIndex.lookup`) | {len(index_us)} | "
        f"{tree['p50']:.1f} | {tree['p95']:.1f} | {tree['max']:.0f} |"
    )
    print(
        f"| scan of every prepared polygon | {len(scan_us)} | {naive['p50']:.1f} | "
        f"{naive['p95']:.1f} | {naive['max']:.0f} |"
    )
    print(f"\nSpeed-up at p50: {naive['p50'] / tree['p50']:.0f}×.")  # fmt: skip


if __name__ == "__main__":
    main()
