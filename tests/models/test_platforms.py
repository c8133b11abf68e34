"""Platform presets, power modes, user YAML platforms and their validation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from xpuplan.models.errors import InvalidInput
from xpuplan.models.opgraph import OP_TYPES
from xpuplan.models.platform import Platform, load_platform, platform_from_dict, platform_to_dict
from xpuplan.models.presets import (
    core_ultra,
    get_platform,
    jetson_orin_nx,
    platform_names,
    platform_summary,
    resolve_platform,
    ryzen_ai,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "platforms"
PRESETS = (jetson_orin_nx.PLATFORM, core_ultra.PLATFORM, ryzen_ai.PLATFORM)
PRESET_MODES = [(p.name, m.name) for p in PRESETS for m in p.power_modes]


def test_platform_names() -> None:
    """The three presets, in the documented order."""
    assert platform_names() == ["jetson-orin-nx-16gb", "core-ultra-125h", "ryzen-ai-hx370"]


@pytest.mark.parametrize("platform", PRESETS, ids=lambda p: p.name)
def test_preset_round_trips(platform: Platform) -> None:
    """A preset as defined survives platform_to_dict -> YAML text -> platform_from_dict."""
    text = yaml.safe_dump(platform_to_dict(platform))
    assert platform_from_dict(yaml.safe_load(text)) == platform


@pytest.mark.parametrize(("name", "mode"), PRESET_MODES)
def test_preset_modes_validate_and_round_trip(name: str, mode: str) -> None:
    """Every power mode of every preset gives a valid platform that round-trips with its mode."""
    platform = get_platform(name, mode)
    assert platform.power_mode == mode
    again = platform_from_dict(platform_to_dict(platform))
    assert again == platform
    # Reloading a platform already in a mode must not apply its default mode on top.
    assert resolve_platform(name, mode) == platform


@pytest.mark.parametrize("platform", PRESETS, ids=lambda p: p.name)
def test_preset_default_mode_applied(platform: Platform) -> None:
    """get_platform without a mode returns the preset in its default power mode."""
    assert platform.default_power_mode is not None
    assert get_platform(platform.name).power_mode == platform.default_power_mode


def test_orin_default_is_nvidia_default() -> None:
    """NVIDIA's default nvpmodel mode (PM_CONFIG DEFAULT=2) is 15W."""
    assert get_platform("jetson-orin-nx-16gb").power_mode == "15W"


def test_orin_10w_caps() -> None:
    """Orin 10W: 1 CPU cluster <= 1190.4 MHz, GPU <= 612 MHz on 2 of 4 TPCs, DLA 153.6/115 MHz."""
    maxn = get_platform("jetson-orin-nx-16gb", "MAXN")
    orin = get_platform("jetson-orin-nx-16gb", "10W")
    assert orin.device("cpu").units == 1
    assert orin.device("cpu").top_level.freq_mhz == 1190.4
    assert orin.device("gpu").top_level.name == "612MHz"
    assert orin.device("dla0").top_level.freq_mhz <= 153.6
    assert orin.device("dla1").top_level.freq_mhz <= 115.0
    assert orin.power_budget_w == 10.0
    assert orin.mem_bw_gbps == pytest.approx(102.4 * 2133 / 3199, rel=1e-3)
    # Half the TPCs: half the peak and half the dynamic power at the same clock.
    full_int8 = maxn.device("gpu").peak_ops["int8"]
    assert orin.device("gpu").peak_ops["int8"] == pytest.approx(full_int8 / 2)
    assert orin.device("gpu").level("612MHz").power_w == pytest.approx(
        maxn.device("gpu").level("612MHz").power_w / 2
    )


def test_orin_15w_and_25w_caps() -> None:
    """Orin 15W: 1 cluster <= 1651.2 MHz, GPU <= 612; 25W: 2 clusters <= 1497.6, GPU <= 408 MHz."""
    m15 = get_platform("jetson-orin-nx-16gb", "15W")
    assert (m15.device("cpu").units, m15.device("cpu").top_level.freq_mhz) == (1, 1651.2)
    assert m15.device("gpu").top_level.freq_mhz == 612
    assert m15.device("dla1").top_level.freq_mhz == 614.4
    assert m15.power_budget_w == 15.0
    m25 = get_platform("jetson-orin-nx-16gb", "25W")
    assert (m25.device("cpu").units, m25.device("cpu").top_level.freq_mhz) == (2, 1497.6)
    assert m25.device("gpu").top_level.freq_mhz == 408
    assert m25.device("gpu").peak_ops == jetson_orin_nx.GPU.peak_ops
    assert m25.power_budget_w == 25.0


def test_orin_maxn_uncapped() -> None:
    """MAXN keeps every level and unit and sets no power budget."""
    maxn = get_platform("jetson-orin-nx-16gb", "MAXN")
    assert maxn.devices == jetson_orin_nx.PLATFORM.devices
    assert maxn.power_budget_w is None
    assert maxn.device("gpu").top_level.name == "918MHz"
    assert maxn.device("cpu").top_level.name == "1984MHz"


@pytest.mark.parametrize(
    ("name", "mode", "budget"),
    [
        ("core-ultra-125h", "20W", 20.0),
        ("core-ultra-125h", "28W", 28.0),
        ("core-ultra-125h", "115W", 115.0),
        ("ryzen-ai-hx370", "15W", 15.0),
        ("ryzen-ai-hx370", "54W", 54.0),
    ],
)
def test_laptop_modes_set_budget(name: str, mode: str, budget: float) -> None:
    """The laptops' power modes set the package budget and leave the devices alone."""
    platform = get_platform(name, mode)
    assert platform.power_budget_w == budget
    assert platform.devices == get_platform(name).devices


@pytest.mark.parametrize("platform", PRESETS, ids=lambda p: p.name)
def test_every_mode_budget_covers_idle_and_a_kernel(platform: Platform) -> None:
    """In every mode, the budget leaves room for idle power plus each device's lowest level."""
    for mode in platform.power_modes:
        applied = platform.with_power_mode(mode.name)
        if applied.power_budget_w is None:
            continue
        for dev in applied.devices:
            assert applied.idle_power_w + dev.levels[0].power_w <= applied.power_budget_w


def test_dla_op_support() -> None:
    """The DLAs lack attention, LayerNorm, GELU (Twill) and the other ops NVIDIA's matrix lacks."""
    orin = get_platform("jetson-orin-nx-16gb")
    for name in ("dla0", "dla1"):
        dla = orin.device(name)
        for op in ("attention", "layernorm", "gelu", "rmsnorm", "embedding", "rope", "lstm"):
            assert not dla.supports(op)
        for op in ("conv", "matmul", "relu", "softmax", "pool", "add"):
            assert dla.supports(op)
    assert orin.device("gpu").unsupported_ops == frozenset()


@pytest.mark.parametrize("platform", PRESETS, ids=lambda p: p.name)
def test_unsupported_ops_are_known_op_types(platform: Platform) -> None:
    """Every op a preset excludes is an op type of models.opgraph (no typo hides a gap)."""
    for dev in platform.devices:
        assert dev.unsupported_ops <= OP_TYPES


@pytest.mark.parametrize("platform", PRESETS, ids=lambda p: p.name)
def test_levels_anchor_top_speed(platform: Platform) -> None:
    """Every preset device's top level has speed 1 and speeds equal the frequency ratios."""
    for dev in platform.devices:
        top = dev.top_level
        assert top.speed == 1.0
        for level in dev.levels:
            assert level.speed == pytest.approx(level.freq_mhz / top.freq_mhz, abs=1e-4)


def test_unknown_platform() -> None:
    """An unknown preset name is an InvalidInput on field 'platform' listing the presets."""
    with pytest.raises(InvalidInput) as exc_info:
        get_platform("jetson-nano")
    assert exc_info.value.field == "platform"
    assert exc_info.value.value == "jetson-nano"
    assert "core-ultra-125h" in str(exc_info.value)
    with pytest.raises(InvalidInput) as exc_info:
        resolve_platform("jetson-nano")
    assert exc_info.value.field == "platform"


def test_unknown_power_mode() -> None:
    """An unknown power mode names the field and lists the platform's modes."""
    with pytest.raises(InvalidInput) as exc_info:
        get_platform("jetson-orin-nx-16gb", "7W")
    assert exc_info.value.field == "power_mode"
    assert "MAXN" in str(exc_info.value)


def test_modes_do_not_stack() -> None:
    """Applying a second, different mode to a platform already in a mode is refused."""
    orin = get_platform("jetson-orin-nx-16gb")
    assert orin.with_power_mode("15W") is orin
    with pytest.raises(InvalidInput, match="already in power mode"):
        orin.with_power_mode("MAXN")


def test_summary_fields() -> None:
    """platform_summary gives what `xpuplan list platforms --json` shows."""
    summary = platform_summary(get_platform("jetson-orin-nx-16gb"))
    assert summary["name"] == "jetson-orin-nx-16gb"
    assert summary["power_modes"] == ["MAXN", "10W", "15W", "25W"]
    assert summary["default_power_mode"] == summary["power_mode"] == "15W"
    assert summary["power_budget_w"] == 15.0
    assert summary["mem_bw_gbps"] == 102.4
    gpu = next(d for d in summary["devices"] if d["name"] == "gpu")
    assert gpu["kind"] == "gpu"
    assert gpu["levels"][-1] == "612MHz"
    # 2 of 4 TPCs at 612 of 918 MHz: 30.1 * 0.5 * 612 / 918 dense INT8 TOPS.
    assert gpu["peak_tera_ops"]["int8"] == pytest.approx(30.1 * 0.5 * 612 / 918, rel=1e-3)


def test_example_platform_loads() -> None:
    """The example user platform loads, validates and applies its power modes."""
    path = EXAMPLES / "rk3588.yaml"
    platform = resolve_platform(str(path))
    assert platform.power_mode == "10W"
    assert platform.device("npu").units == 3
    low = resolve_platform(str(path), "6W")
    assert low.device("npu").units == 1
    assert low.device("cpu").top_level.freq_mhz == 1800
    assert load_platform(path).power_mode is None


# ---------------------------------------------------------------------- bad YAML
def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "board.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _base() -> dict:
    """A small valid platform document; each bad-input test breaks one field."""
    return {
        "name": "board",
        "mem_bw_gbps": 50.0,
        "power_budget_w": 10.0,
        "devices": [
            {
                "name": "npu",
                "kind": "npu",
                "units": 1,
                "idle_power_w": 0.5,
                "peak_ops": {"int8": 4.0e12},
                "bandwidth_gbps": 50.0,
                "levels": [
                    {"name": "lo", "freq_mhz": 500, "speed": 0.5, "power_w": 1.0},
                    {"name": "hi", "freq_mhz": 1000, "speed": 1.0, "power_w": 3.0},
                ],
            }
        ],
        "power_modes": [{"name": "eco", "power_budget_w": 5.0, "max_freq_mhz": {"npu": 500}}],
    }


def test_base_document_is_valid(tmp_path: Path) -> None:
    """The document the bad-input tests start from loads."""
    assert load_platform(_write(tmp_path, _base())).name == "board"


def _break(data: dict, dotted: str, value: object) -> dict:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[keys[-1] if not isinstance(node, list) else int(keys[-1])] = value
    return data


@pytest.mark.parametrize(
    ("dotted", "value", "field"),
    [
        ("devices.0.kind", "fpga", "devices[0].kind"),
        ("devices.0.bandwidth_gbps", -5.0, "devices[0].bandwidth_gbps"),
        ("devices.0.levels.1.freq_mhz", 400, "devices[0].levels"),
        ("devices.0.levels.1.speed", 0.4, "devices[0].levels[1].speed"),
        ("devices.0.levels.1.power_w", 0.5, "devices[0].levels[1].power_w"),
        ("devices.0.levels.1.speed", 2.0, "devices[0].levels[1].speed"),
        ("devices.0.idle_power_w", float("nan"), "devices[0].idle_power_w"),
        ("devices.0.peak_ops", {"int7": 1.0}, "devices[0].peak_ops"),
        ("devices.0.compute_efficiency", 1.5, "devices[0].compute_efficiency"),
        ("power_budget_w", 0.2, "power_budget_w"),
        ("power_modes.0.power_budget_w", 0.3, "power_modes[0].power_budget_w"),
        ("power_modes.0.max_freq_mhz", {"gpu": 500}, "power_modes[0].max_freq_mhz"),
        ("power_modes.0.compute_scale", {"npu": 2.0}, "power_modes[0].compute_scale.npu"),
        ("default_power_mode", "turbo", "default_power_mode"),
        ("unified_memory", "no", "unified_memory"),
        ("devices.0.colour", "red", "devices[0].colour"),
        ("frequency", 3, "frequency"),
        ("devices.0.levels.0.volts", 0.8, "devices[0].levels[0].volts"),
    ],
)
def test_bad_platform_yaml(tmp_path: Path, dotted: str, value: object, field: str) -> None:
    """Each broken field is one InvalidInput naming the file and the field."""
    path = _write(tmp_path, _break(_base(), dotted, value))
    with pytest.raises(InvalidInput) as exc_info:
        resolve_platform(str(path))
    error = exc_info.value
    assert error.file == str(path)
    assert error.field == field
    text = str(error)
    assert "\n" not in text and str(path) in text and field in text


def test_malformed_yaml(tmp_path: Path) -> None:
    """Malformed YAML names the file and the line."""
    path = tmp_path / "broken.yml"
    path.write_text("name: board\ndevices: [\n  {name: npu\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as exc_info:
        resolve_platform(str(path))
    assert str(path) in str(exc_info.value)
    assert "malformed YAML at line" in str(exc_info.value)


def test_missing_yaml_file(tmp_path: Path) -> None:
    """A .yaml path that does not exist is a clear error naming it."""
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(InvalidInput, match="no such file") as exc_info:
        resolve_platform(str(path))
    assert exc_info.value.file == str(path)


def test_exponent_without_sign_gets_a_hint(tmp_path: Path) -> None:
    """YAML 1.1 reads 4.0e12 as text; the error says how to write the number."""
    path = tmp_path / "board.yaml"
    text = yaml.safe_dump(_base()).replace("4000000000000.0", "4.0e12")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"e\+9") as exc_info:
        load_platform(path)
    assert exc_info.value.field == "devices[0].peak_ops.int8"


def test_yaml_power_mode_error_names_file(tmp_path: Path) -> None:
    """An unknown --power-mode for a YAML platform names the file."""
    path = _write(tmp_path, _base())
    with pytest.raises(InvalidInput) as exc_info:
        resolve_platform(str(path), "turbo")
    assert exc_info.value.file == str(path)
    assert exc_info.value.field == "power_mode"
