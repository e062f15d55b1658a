"""Pictures of a run for people: the progress animation, latent walks, real beside fake, nearest
real neighbours, and the self-contained HTML report that gathers them with the run's curves.

    text.py        a caption band above an image (the step on each animation frame)
    grid_files.py  the run's fixed-noise grid PNGs, and an evenly spaced choice of them
    animation.py   samples/progress.gif (and .mp4) from those grids
    latent_walk.py spherical interpolation between seeded latents, as a grid and as frames
    panels.py      captioned images side by side (real beside fake)
    neighbours.py  each sample beside its nearest real images (Inception pool3 or pixel space)
    run_images.py  the generator pictures of a run: real vs fake and a latent walk
    events.py      scalars from a run's TensorBoard event files, and its metrics.jsonl
    plots.py       matplotlib charts of those scalars, in generator steps
    report.py      report.html: one self-contained file with all of the above
"""
