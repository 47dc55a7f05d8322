import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spiketune.errors import ArchError, SpiketuneError
from spiketune.network import arch, models


def test_svhn_network_has_published_parameter_count():
    # hand count: 3*32*9+32 + 32*32*9+32 + (32*6*6)*256+256 + 256*10+10
    m = models.build("32C3-P2-32C3-MP2-256-10", (3, 32, 32))
    assert models.count_parameters(m) == 896 + 9248 + 295168 + 2570 == 307882


def test_neuron_after_pooling_and_shapes():
    blocks = arch.parse("32C3-P2-32C3-MP2-256-10", (3, 32, 32))
    assert [b.kind for b in blocks] == ["conv", "conv", "fc", "fc"]
    assert blocks[0].conv_shape == (32, 30, 30) and blocks[0].out_shape == (32, 15, 15)
    assert blocks[1].out_shape == (32, 6, 6)
    assert blocks[2].in_shape == (32, 6, 6)
    m = models.build("32C3-P2-32C3-MP2-256-10", (3, 32, 32))
    out, rec = m(torch.rand(2, 3, 32, 32), num_steps=4, record=True)
    assert [tuple(r.shape) for r in rec] == [(4, 2, 32, 15, 15), (4, 2, 32, 6, 6), (4, 2, 256), (4, 2, 10)]
    assert set(out.unique().tolist()) <= {0.0, 1.0}


def test_event_vgg_network_with_bn_dropout_population():
    a = "64C3p1-28C3p1-BN-MP2-48C3p1-54C3p1-BN-MP2-120C3p1-126C3p1-140C3p1-BN-MP2-1064-D0.1-100"
    m = models.build(a, (2, 32, 32), num_classes=10)
    assert m.pop_size == 10
    blocks = arch.parse(a, (2, 32, 32))
    assert len(blocks) == 9 and blocks[1].batch_norm and blocks[1].pool == ("max", 2)
    assert blocks[7].dropout == pytest.approx(0.1)
    assert blocks[6].out_shape == (140, 4, 4)
    # conv params: sum k*k*cin*cout + cout, BN: 2*C, fc
    convs = [(2, 64), (64, 28), (28, 48), (48, 54), (54, 120), (120, 126), (126, 140)]
    expected = sum(9 * i * o + o for i, o in convs) + 2 * (28 + 54 + 140)
    expected += 140 * 16 * 1064 + 1064 + 1064 * 100 + 100
    assert models.count_parameters(m) == expected
    x = torch.rand(3, 2, 2, 32, 32)  # [T, B, C, H, W] event frames
    out = m(x)
    assert out.shape == (3, 2, 100) and m.decode(out).shape == (2, 10)


def test_average_pool_and_stride():
    blocks = arch.parse("8C3p1s2-AP2-10", (1, 16, 16))
    assert blocks[0].conv_shape == (8, 8, 8) and blocks[0].pool == ("avg", 2)
    assert blocks[0].out_shape == (8, 4, 4)


@pytest.mark.parametrize("bad,token,pos", [
    ("32C3-P2-32X3-10", "32X3", 3), ("32C3--10", "", 2), ("32C3-P2-MP2-10", "MP2", 3),
    ("32C3-P2", "P2", 2), ("10-32C3-10", "32C3", 2), ("32C40-10", "32C40", 1),
    ("D0.5-10", "D0.5", 1), ("32C3-D1.5-10", "D1.5", 2), ("32C3-0-10", "0", 2)])
def test_malformed_strings_name_token_and_position(bad, token, pos):
    with pytest.raises(ArchError) as e:
        arch.parse(bad, (3, 32, 32))
    assert f"'{token}' at position {pos}" in str(e.value)


def test_population_must_divide_classes():
    with pytest.raises(ArchError, match="multiple of 10"):
        models.build("16-25", (64,), num_classes=10)


def test_wrong_input_shape_is_named():
    m = models.build("8C3-10", (1, 8, 8))
    with pytest.raises(ArchError, match=r"expects inputs of shape \(1, 8, 8\)"):
        m(torch.rand(2, 3, 8, 8), num_steps=2)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789CPMADBNSps.-x", max_size=30))
def test_fuzz_parse_either_parses_or_raises_own_error(s):
    try:
        arch.parse(s, (3, 32, 32))
    except SpiketuneError:
        pass
