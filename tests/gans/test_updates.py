"""The alternating updates: who changes when, how often, and how long a run is."""

import pytest
import pytorch_lightning as pl
import torch

from gan_lightning.gans import DCGANModule, WGANGPModule

from .conftest import cpu_trainer, image_loader


class UpdateRecorder:
    """Watches both real optimizers through torch's step hooks and records what each step touched."""

    def __init__(self, module) -> None:
        self.module = module
        self.events: list[str] = []
        self.violations: list[str] = []

    def attach(self, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer) -> None:
        for name, opt in (("G", opt_g), ("D", opt_d)):
            opt.register_step_pre_hook(lambda o, a, k, name=name: self._before(name))
            opt.register_step_post_hook(lambda o, a, k, name=name: self._after(name))

    def _params(self):
        return (
            [p.detach().clone() for p in self.module.generator.parameters()],
            [p.detach().clone() for p in self.module.discriminator.parameters()],
        )

    def _before(self, name: str) -> None:
        mine, other = (self.module.generator, self.module.discriminator)[:: 1 if name == "G" else -1]
        if any(p.grad is not None for p in other.parameters()):
            self.violations.append(f"{name} step: the other net holds gradients")
        if all(p.grad is None for p in mine.parameters()):
            self.violations.append(f"{name} step: no gradients for its own net")
        self.snapshot = self._params()

    def _after(self, name: str) -> None:
        g_before, d_before = self.snapshot
        g_after, d_after = self._params()
        g_changed = any(not torch.equal(a, b) for a, b in zip(g_before, g_after))
        d_changed = any(not torch.equal(a, b) for a, b in zip(d_before, d_after))
        if (name == "G") != g_changed or (name == "D") != d_changed:
            self.violations.append(f"{name} step changed G={g_changed} D={d_changed}")
        self.events.append(name)


class RecordUpdates(pl.Callback):
    def on_train_start(self, trainer, pl_module) -> None:
        self.recorder = UpdateRecorder(pl_module)
        opt_g, opt_d = (o.optimizer if hasattr(o, "optimizer") else o for o in trainer.optimizers)
        self.recorder.attach(opt_g, opt_d)


@pytest.mark.parametrize(
    "cls, n_critic",
    [(DCGANModule, 1), (DCGANModule, 2), (WGANGPModule, 5), (WGANGPModule, 3)],
)
def test_each_update_touches_only_its_net_and_ratio_is_n_critic(cls, n_critic, small_nets):
    module = cls(n_critic=n_critic, **small_nets)
    recorder_cb = RecordUpdates()
    trainer = cpu_trainer(max_steps=4, callbacks=[recorder_cb])
    trainer.fit(module, image_loader(64 * n_critic, batch_size=4 * n_critic))
    recorder = recorder_cb.recorder
    assert recorder.violations == []
    assert recorder.events == (["D"] * n_critic + ["G"]) * 4
    # Lightning issue 17958: max_steps counts generator iterations, not both optimizers' steps.
    assert trainer.global_step == 4
    # Nothing is left over after a step.
    assert all(p.grad is None for p in module.parameters())


def test_max_epochs_runs_every_batch_once(small_nets):
    module = WGANGPModule(n_critic=2, **small_nets)
    trainer = cpu_trainer(max_epochs=2)
    trainer.fit(module, image_loader(40, batch_size=8))  # 5 generator iterations per epoch
    assert trainer.global_step == 10


def test_schedule_steps_once_per_generator_iteration(small_nets):
    module = DCGANModule(lr=1e-3, lr_schedule="linear", **small_nets)
    trainer = cpu_trainer(max_steps=10)
    trainer.fit(module, image_loader(80, batch_size=4))
    opt_g, opt_d = trainer.optimizers
    # Linear decay to zero over 10 generator steps: after all 10 the rate is 0 for both nets.
    assert opt_g.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    assert opt_d.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_warmup_then_cosine(small_nets):
    module = DCGANModule(lr=1e-3, lr_schedule="cosine", lr_warmup_steps=4, **small_nets)
    trainer = cpu_trainer(max_steps=2)
    trainer.fit(module, image_loader(80, batch_size=4))
    # After 2 of 4 warmup steps: 1e-3 * (1/4 + 2 * (3/4) / 4) = 0.625e-3.
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.625e-3)


def test_separate_learning_rates_and_betas(small_nets):
    module = WGANGPModule(**small_nets)
    trainer = cpu_trainer(max_steps=1)
    trainer.fit(module, image_loader(40, batch_size=20))
    opt_g, opt_d = trainer.optimizers
    assert (opt_g.param_groups[0]["lr"], opt_d.param_groups[0]["lr"]) == (1e-3, 2e-4)  # MATLAB recipe
    assert opt_g.param_groups[0]["betas"] == opt_d.param_groups[0]["betas"] == (0.0, 0.9)


def test_ema_generator_tracks_generator(small_nets):
    module = DCGANModule(ema_decay=0.5, **small_nets)
    before = [p.clone() for p in module.generator_ema.parameters()]
    trainer = cpu_trainer(max_steps=3)
    trainer.fit(module, image_loader(48, batch_size=4))
    ema, live = list(module.generator_ema.parameters()), list(module.generator.parameters())
    assert all(not p.requires_grad for p in ema)
    assert any(not torch.equal(a, b) for a, b in zip(before, ema))
    assert any(not torch.equal(a, b) for a, b in zip(ema, live))  # an average, not a copy
    samples = module.sample()
    assert samples.shape == (64, 3, 16, 16) and samples.abs().max() <= 1


def test_fixed_seed_fit_is_reproducible(small_nets):
    def run() -> dict:
        pl.seed_everything(123)
        module = WGANGPModule(n_critic=2, **small_nets)
        cpu_trainer(max_steps=3).fit(module, image_loader(48, batch_size=8))
        return {k: v.clone() for k, v in module.state_dict().items()}

    first, second = run(), run()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_bad_n_critic():
    with pytest.raises(ValueError, match="n_critic"):
        WGANGPModule(n_critic=0)


def test_running_state_follows_the_module_to_its_device(small_nets):
    # Everything a step accumulates into must move with .to(device); "meta" stands in for a GPU here.
    module = DCGANModule(**small_nets).to("meta")
    assert {t.device.type for t in module.state_dict(keep_vars=True).values()} == {"meta"}
    assert module.epoch_loss_sums.device.type == "meta" and module.fixed_noise.device.type == "meta"
