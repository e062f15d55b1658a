"""DiffAugment: each augmentation against a hand description of what it does, its gradients, its
randomness, and where the training step applies it."""

import pytest
import torch
import torch.nn.functional as F

from gan_lightning.gans import DCGANModule, WGANGPModule
from gan_lightning.gans.augment import (
    POLICIES,
    diff_augment,
    parse_policy,
    random_brightness,
    random_contrast,
    random_cutout,
    random_saturation,
    random_translation,
)

from .conftest import cpu_trainer, image_loader

AUGMENTATIONS = [random_brightness, random_saturation, random_contrast, random_translation, random_cutout]


def images(batch: int = 8, size: int = 16, seed: int = 0, low: float = -1.0) -> torch.Tensor:
    return torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(seed)) * (1 - low) + low


def seeded(augmentation, seed: int = 0):
    """The augmentation with its random parameters fixed (as inside one training step)."""

    def run(x: torch.Tensor) -> torch.Tensor:
        torch.manual_seed(seed)
        return augmentation(x)

    return run


@pytest.mark.parametrize("augmentation", AUGMENTATIONS, ids=lambda f: f.__name__)
def test_each_augmentation_is_differentiable(augmentation):
    x = images(batch=3, size=8).double().requires_grad_(True)
    assert torch.autograd.gradcheck(seeded(augmentation), (x,))
    # and the gradient reaches the input (not an augmentation that detaches it)
    seeded(augmentation)(x).sum().backward()
    assert x.grad.abs().sum() > 0


@pytest.mark.parametrize("augmentation", AUGMENTATIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_each_augmentation_keeps_shape_and_dtype(augmentation, dtype):
    x = images().to(dtype)
    out = augmentation(x)
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("augmentation", AUGMENTATIONS, ids=lambda f: f.__name__)
def test_each_augmentation_differs_across_samples(augmentation):
    same = images(batch=1, size=32).expand(8, -1, -1, -1)
    out = seeded(augmentation)(same)
    assert len({tuple(o.flatten().tolist()) for o in out}) >= 6  # 8 images, (almost) all different


def per_image(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1)


def test_brightness_adds_one_constant_per_image_within_half():
    x = images()
    delta = per_image(random_brightness(x) - x)
    torch.testing.assert_close(delta, delta[:, :1].expand_as(delta))
    assert delta.abs().max() <= 0.5
    # range: images in [-1, 1] stay within [-1.5, 1.5]
    assert random_brightness(x).abs().max() <= 1.5


def scale_about(x: torch.Tensor, out: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """The factor each image's distance from `mean` was multiplied by (checked to be one per image)."""
    before, after = per_image(x - mean), per_image(out - mean)
    factor = (after * before).sum(1) / (before * before).sum(1)  # least squares, one per image
    torch.testing.assert_close(after, factor[:, None] * before, rtol=0, atol=1e-5)
    return factor


def test_saturation_scales_the_distance_from_the_channel_mean_by_0_to_2():
    x = images(low=0.0)
    out = random_saturation(x)
    mean = x.mean(dim=1, keepdim=True)
    torch.testing.assert_close(out.mean(dim=1, keepdim=True), mean)  # the grey level stays
    factor = scale_about(x, out, mean)
    assert (factor >= 0).all() and (factor <= 2).all()
    assert out.abs().max() <= 3  # |m + 2 (x - m)| <= 3 for x in [-1, 1]


def test_contrast_scales_the_distance_from_the_image_mean_by_half_to_one_and_a_half():
    x = images(low=0.0)
    out = random_contrast(x)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    torch.testing.assert_close(out.mean(dim=(1, 2, 3), keepdim=True), mean)
    factor = scale_about(x, out, mean)
    assert (factor >= 0.5).all() and (factor <= 1.5).all()


def shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Output pixel (i, j) = input (i + dy, j + dx), zero outside: written with padding and slicing."""
    _, h, w = image.shape
    padded = F.pad(image, (w, w, h, h))
    return padded[:, h + dy : 2 * h + dy, w + dx : 2 * w + dx]


def test_translation_is_a_shift_of_at_most_an_eighth_with_zeros_shifted_in():
    x = images(batch=16, size=16, low=0.5)  # no zeros in the input, so the fill is visible
    out = random_translation(x)
    shifts = []
    for image, result in zip(x, out):
        candidates = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
        matches = [(dy, dx) for dy, dx in candidates if torch.equal(result, shifted(image, dy, dx))]
        assert len(matches) == 1, "each output is the input shifted by (dy, dx), |dy|, |dx| <= 16 / 8"
        shifts.append(matches[0])
    assert len(set(shifts)) > 1
    assert out.min() >= 0 and out.max() <= 1  # values are the input's or 0: the range is kept


def test_cutout_zeroes_one_half_size_rectangle_clipped_at_the_border():
    x = images(batch=32, size=16, low=0.5)
    out = random_cutout(x)
    for image, result in zip(x, out):
        cut = result[0] == 0
        assert torch.equal(cut, (result == 0).all(dim=0))  # the same pixels in every channel
        torch.testing.assert_close(result[:, ~cut], image[:, ~cut], rtol=0, atol=0)  # the rest untouched
        rows, cols = cut.any(dim=1).nonzero().flatten(), cut.any(dim=0).nonzero().flatten()
        assert cut.sum() == len(rows) * len(cols)  # one rectangle
        for index in (rows, cols):
            assert torch.equal(index, torch.arange(index[0], index[-1] + 1))  # contiguous
            # 8 long, shorter only where the border clips it (centre anywhere in [0, 16])
            assert len(index) == 8 or (4 <= len(index) < 8 and (index[0] == 0 or index[-1] == 15))
    assert out.min() >= 0 and out.max() <= 1


def test_the_step_rng_decides_the_draws():
    x = images()
    policy = parse_policy("color,translation,cutout")
    augment = lambda t, seed: seeded(lambda t: diff_augment(t, policy), seed)(t)
    assert torch.equal(augment(x, 3), augment(x, 3))
    assert not torch.equal(augment(x, 3), augment(x, 4))
    # bf16 draws the same parameters as fp32: the augmented images agree to bf16 precision
    torch.testing.assert_close(augment(x.bfloat16(), 3).float(), augment(x, 3), rtol=0.05, atol=0.05)


def test_runs_without_reading_data_on_the_host():
    # Meta tensors hold no data: any .item(), data-dependent shape or copy to the host would fail.
    x = torch.empty(4, 3, 16, 16, device="meta")
    assert diff_augment(x, parse_policy("color,translation,cutout")).shape == x.shape


def test_policy_strings():
    assert parse_policy("color,translation,cutout") == ("color", "translation", "cutout")
    assert parse_policy(" translation , cutout ") == ("translation", "cutout")
    assert parse_policy(None) == parse_policy("") == ()
    assert set(POLICIES) == {"color", "translation", "cutout"}
    with pytest.raises(ValueError, match="unknown DiffAugment policy 'colour'.*valid: color, translation, cutout"):
        parse_policy("colour,cutout")
    with pytest.raises(ValueError, match="twice"):
        parse_policy("cutout,cutout")
    with pytest.raises(ValueError, match="unknown DiffAugment policy"):
        DCGANModule(image_size=16, channels=3, augment="flip")


class RecordDiscriminatorInputs:
    """Records every batch the discriminator receives, and whether its weights were trainable then
    (they are frozen in the generator update)."""

    def __init__(self, discriminator: torch.nn.Module) -> None:
        self.inputs: list[tuple[str, torch.Tensor]] = []
        self.discriminator = discriminator
        discriminator.register_forward_pre_hook(self.record)

    def record(self, net, args) -> None:
        update = "D" if next(net.parameters()).requires_grad else "G"
        self.inputs.append((update, args[0].detach().clone()))


def has_cutout(batch: torch.Tensor) -> torch.Tensor:
    """Per image: does it hold an all-channel block of exact zeros of at least 4x4 (16x16 images)?
    Real images in [-1, 1] made from bytes are never exactly 0, generated ones almost never."""
    zero = (batch == 0).all(dim=1).float()[:, None]
    return (F.avg_pool2d(zero, 4, stride=1) == 1).flatten(1).any(dim=1)


@pytest.mark.parametrize("augment", ["cutout", None])
def test_dcgan_step_augments_real_and_fake_for_d_and_fake_for_g(small_nets, augment):
    module = DCGANModule(augment=augment, **small_nets)
    recorder = RecordDiscriminatorInputs(module.discriminator)
    cpu_trainer(max_steps=2).fit(module, image_loader(32, batch_size=8))
    updates = [update for update, _ in recorder.inputs]
    assert updates == ["D", "D", "G"] * 2  # real, fake; fake
    for _, batch in recorder.inputs:
        assert has_cutout(batch).all() == (augment is not None)
        assert has_cutout(batch).any() == (augment is not None)


def test_wgan_gp_interpolates_between_the_augmented_real_and_fake_images(small_nets):
    module = WGANGPModule(augment="cutout", n_critic=1, **small_nets)
    recorder = RecordDiscriminatorInputs(module.discriminator)
    cpu_trainer(max_steps=1).fit(module, image_loader(16, batch_size=8))
    (_, real), (_, fake), (_, interpolates), (g_update, fake_for_g) = recorder.inputs
    assert g_update == "G"
    assert has_cutout(real).all() and has_cutout(fake).all() and has_cutout(fake_for_g).all()
    # x_hat = eps x + (1 - eps) G(z) of the images the critic scored: x_hat - G(z) = eps (x - G(z)).
    direction, offset = per_image(real - fake), per_image(interpolates - fake)
    eps = (offset * direction).sum(1) / (direction * direction).sum(1)
    torch.testing.assert_close(offset, eps[:, None] * direction, rtol=0, atol=1e-5)
    assert ((eps >= 0) & (eps <= 1)).all()
