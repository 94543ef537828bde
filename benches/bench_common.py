"""What the Python halves of the abstractive bench share: this process's resident memory
(Linux) and per-call latency statistics."""

from __future__ import annotations

import resource
import statistics


def peak_rss_mib() -> float:
    """Peak resident memory so far (ru_maxrss, KiB on Linux), in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mib() -> float:
    """Resident memory now (VmRSS), in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def latency_stats(seconds: list[float]) -> dict:
    """Mean, p50, p90 and max of `seconds`, in milliseconds."""
    ordered = sorted(seconds)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]

    return {
        "mean_ms": round(1000 * statistics.fmean(ordered), 1),
        "p50_ms": round(1000 * pct(0.5), 1),
        "p90_ms": round(1000 * pct(0.9), 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def memory_fields(rss_after_load: float, peak_at_load: float) -> dict:
    """The memory entries of a bench result: resident after load, peak by then, peak now."""
    return {
        "rss_after_load_mib": round(rss_after_load, 1),
        "peak_rss_at_load_mib": round(peak_at_load, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }
