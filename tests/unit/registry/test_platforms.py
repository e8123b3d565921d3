import pytest

from registry.errors import InvalidReference
from registry.platforms import Platform, from_oci, parse
from registry.reference import ModelRef, check_repo, check_tag


@pytest.mark.parametrize("spec", ["aarch64", "arm64", "arm64/v8", "linux/arm64", "linux/arm64/v8"])
def test_arm64_spellings_are_one_platform(spec):
    assert parse(spec) == Platform("linux", "arm64")


@pytest.mark.parametrize("spec", ["armv7l", "arm", "arm/v7", "arm/7", "armhf", "linux/arm/v7"])
def test_arm32_spellings_are_arm_v7(spec):
    assert parse(spec) == Platform("linux", "arm", "v7")


@pytest.mark.parametrize("spec", ["x86_64", "amd64", "amd64/v1", "x86-64"])
def test_x86_64_spellings_are_amd64(spec):
    assert parse(spec) == Platform("linux", "amd64")


def test_armel_is_v6_and_different_from_v7():
    assert parse("armel") == Platform("linux", "arm", "v6")
    assert parse("armel") != parse("armv7l")


@pytest.mark.parametrize("bad", ["x86", "x64", "arm64/v7", "amd64/v3", "", "linux/", "mips/x/y/z"])
def test_unknown_or_inexact_names_are_refused(bad):
    # `x86` is not `x86_64`: nothing is guessed from a prefix.
    with pytest.raises(InvalidReference):
        parse(bad)


def test_oci_entries_skip_attestations_and_normalise():
    assert from_oci({"architecture": "unknown", "os": "unknown"}) is None
    assert from_oci({"architecture": "arm64", "os": "linux", "variant": "v8"}) == parse("arm64")
    assert from_oci({"architecture": "arm", "os": "linux"}) == parse("arm/v7")
    assert from_oci({"architecture": "sparc", "os": "linux"}) is None


def test_platform_strings_and_slugs():
    assert str(parse("armv7l")) == "linux/arm/v7"
    assert parse("armv7l").slug == "linux-arm-v7"
    assert parse("aarch64").as_oci() == {"architecture": "arm64", "os": "linux"}


def test_model_reference_layout_and_validation():
    ref = ModelRef("image-classification", "mobilenet-v2", "1.0")
    assert ref.repo == "models/image-classification/mobilenet-v2"
    assert ModelRef.parse_repo("models/car/resnet") == ("car", "resnet")
    assert ModelRef.parse_repo("models/car") is None
    assert ModelRef.parse_repo("x/car/resnet") is None
    for bad in ("Car", "a/b", "-x", "x..y", ""):
        with pytest.raises(InvalidReference):
            ModelRef(bad, "m", "1")
    with pytest.raises(InvalidReference):
        check_tag(".hidden")
    with pytest.raises(InvalidReference):
        check_repo("UPPER/case")
