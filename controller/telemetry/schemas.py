"""Strict pydantic models of a push body (agent/protocol.py is the contract).

Strict mode: no coercion ("0.5" is not a number), unknown fields are errors, non-finite
floats are errors, and the batch must be self-consistent (seqs contiguous from first_seq to
last_seq). Clock-dependent checks need `context={"now": epoch_seconds}`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from agent import protocol
from controller.telemetry.errors import InvalidPayload, LabelLimitExceeded

# Anything before this is a clock that was never set (1 Jan 2020, UTC).
MIN_TS = 1_577_836_800.0
# Checked once per batch in the model validator: a per-field Python validator costs about a
# microsecond per sample, and a push carries up to 5,000 of them.
MAX_LABEL_VALUE = 128
MAX_LABEL_NAME = 64

_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

Name = Annotated[str, StringConstraints(pattern=protocol.NAME_PATTERN)]
LabelKey = Annotated[
    str, StringConstraints(pattern=rf"^[a-zA-Z_][a-zA-Z0-9_]{{0,{MAX_LABEL_NAME - 1}}}$")
]
LabelValue = Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE)]
Source = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.:@/-]{0,63}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Unit = Literal[tuple(sorted(protocol.UNITS))]  # type: ignore[valid-type]
Seq = Annotated[int, Field(ge=0, le=2**62)]


class DeviceInfo(BaseModel):
    model_config = _STRICT

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{7,63}$")]
    hostname: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")]
    arch: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
    os: Text
    agent_version: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.+_-]{0,31}$")]
    boot_time: Annotated[float, Field(ge=0)] | None = None


class BatchRange(BaseModel):
    model_config = _STRICT

    first_seq: Seq
    last_seq: Seq


class Dropped(BaseModel):
    model_config = _STRICT

    total: Annotated[int, Field(ge=0, le=2**62)]


class WireSample(BaseModel):
    model_config = _STRICT

    seq: Seq
    name: Name
    value: float
    unit: Unit
    ts: Annotated[float, Field(ge=MIN_TS)]
    source: Source
    labels: Annotated[dict[LabelKey, LabelValue], Field(max_length=protocol.MAX_LABELS)] = {}


class PushBody(BaseModel):
    model_config = _STRICT

    protocol: Literal[1]
    device: DeviceInfo
    stream: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    batch: BatchRange
    dropped: Dropped
    samples: Annotated[
        list[WireSample], Field(min_length=1, max_length=protocol.MAX_SAMPLES_PER_BATCH)
    ]

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> PushBody:
        """Seqs contiguous from first_seq to last_seq; no sample stamped in the future."""
        first, last = self.batch.first_seq, self.batch.last_seq
        if last - first + 1 != len(self.samples):
            raise ValueError(
                f"batch {first}..{last} announces {last - first + 1} samples, body has "
                f"{len(self.samples)}"
            )
        for i, sample in enumerate(self.samples):
            if sample.seq != first + i:
                raise ValueError(f"samples.{i}.seq is {sample.seq}, expected {first + i}")
        context = info.context or {}
        if "now" in context:
            limit = context["now"] + context["max_skew"]
            for i, sample in enumerate(self.samples):
                if sample.ts > limit:
                    raise ValueError(
                        f"samples.{i}.ts is in the future: is the device clock synced?"
                    )
        return self


def parse_push(body: bytes, now: float, max_skew: float) -> PushBody:
    """Validate a raw body in one pass (pydantic parses the JSON itself: no dict in between)."""
    return PushBody.model_validate_json(body, context={"now": now, "max_skew": max_skew})


_LABEL_LIMITS = (f"label limits: at most {protocol.MAX_LABELS} labels per sample, names of "
                 f"at most {MAX_LABEL_NAME} and values of at most {MAX_LABEL_VALUE} characters")


def invalid_payload(exc: ValidationError) -> InvalidPayload:
    """The 422 for a body that failed validation; LabelLimitExceeded (naming the limits) when
    a label is what failed, so the ingest counter tells cardinality abuse from bugs."""
    if any("labels" in err.get("loc", ()) for err in exc.errors(include_url=False)):
        return LabelLimitExceeded(f"{one_line(exc)} ({_LABEL_LIMITS})")
    return InvalidPayload(one_line(exc))


def one_line(exc: ValidationError, shown: int = 3) -> str:
    """'samples.3.unit: Input should be ...; ... (+N more)': short enough for an agent log."""
    errors = exc.errors(include_url=False, include_input=False)
    parts = []
    for err in errors[:shown]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = f" (+{len(errors) - shown} more)" if len(errors) > shown else ""
    return "; ".join(parts).replace("\n", " ") + more
