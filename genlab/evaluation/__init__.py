"""How good a checkpoint is, measured: metrics, one module per family's evaluation, model cards, the ``eval`` CLI.

    metrics.py     FID/KID on a named feature net, class accuracy, paired image quality, memorisation
    common.py      what the families share: the split a checkpoint trained on, the feature net, the real floor
    gan.py vae.py pix2pix.py classifier.py cyclegan.py inpaint.py augment.py   one family (or task) each
    cards.py       model cards written from run data and these figures
    cli.py         ``genlab eval FAMILY MODEL ...``

Evaluation sits on top of the library (models, datasets, tasks); nothing below imports it.
"""
