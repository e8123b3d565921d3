"""vcgencmd collector: get_throttled decoding on real masks, measure_temp, rate limit."""

from __future__ import annotations

import pytest

from agent.collectors.base import CommandError
from agent.collectors.vcgencmd import VcgencmdCollector, decode_throttled, parse_throttled
from tests.unit.agent.helpers import Commands, cmd

FLAGS = ("under_voltage", "frequency_capped", "throttled", "soft_temp_limit")


def _set(mask: int) -> set[tuple[str, str]]:
    return {k for k, v in decode_throttled(mask).items() if v}


@pytest.mark.parametrize(("mask", "expected"), [
    (0x0, set()),
    (0x50000, {("under_voltage", "since_boot"), ("throttled", "since_boot")}),
    (0x50005, {("under_voltage", "now"), ("throttled", "now"),
               ("under_voltage", "since_boot"), ("throttled", "since_boot")}),
    (0x80008, {("soft_temp_limit", "now"), ("soft_temp_limit", "since_boot")}),
])
def test_decode_real_masks(mask, expected):
    assert parse_throttled(cmd(f"get_throttled.{mask:#x}.txt")) == mask
    assert _set(mask) == expected
    assert len(decode_throttled(mask)) == 8  # every flag reported, 0 or 1


def test_unexpected_output_raises_with_its_words():
    with pytest.raises(CommandError, match="VCHI initialization failed"):
        parse_throttled("VCHI initialization failed\n")


def _collector(make_ctx, clock, outputs):
    run = Commands(outputs)
    ctx = make_ctx(which=lambda name: f"/usr/bin/{name}", run=run)
    c = VcgencmdCollector(ctx)
    assert c.applies()
    return c, run


def test_samples_raw_mask_flags_and_temperature(make_ctx, clock):
    c, run = _collector(make_ctx, clock, {"measure_temp": cmd("measure_temp.txt"),
                                          "get_throttled": cmd("get_throttled.0x50005.txt")})
    samples = c.collect(9.0)
    by = {(s.name, s.labels.get("flag"), s.labels.get("scope")): (s.value, s.unit)
          for s in samples}
    assert by[("soc_temperature_celsius", None, None)] == (48.3, "celsius")
    assert by[("throttled_flags", None, None)] == (0x50005, "flags")
    assert by[("throttle_flag", "under_voltage", "now")] == (1, "flags")
    assert by[("throttle_flag", "frequency_capped", "since_boot")] == (0, "flags")
    assert run.calls == [["/usr/bin/vcgencmd", "measure_temp"],
                         ["/usr/bin/vcgencmd", "get_throttled"]]


def test_spawns_at_most_once_per_interval_and_sends_nothing_stale(make_ctx, clock):
    c, run = _collector(make_ctx, clock, {"measure_temp": cmd("measure_temp.txt"),
                                          "get_throttled": cmd("get_throttled.0x0.txt")})
    assert c.collect(1.0)
    for _ in range(4):
        clock.tick(1.0)
        assert c.collect(2.0) == []
    clock.tick(1.0)
    assert c.collect(6.0)
    assert len(run.calls) == 4


def test_failing_vcgencmd_raises(make_ctx, clock):
    c, _ = _collector(make_ctx, clock, {
        "measure_temp": CommandError("vcgencmd measure_temp exited 255: Can't open /dev/vcio")})
    with pytest.raises(CommandError, match="vcio"):
        c.collect(1.0)


def test_no_vcgencmd_does_not_apply(make_ctx):
    assert not VcgencmdCollector(make_ctx()).applies()
