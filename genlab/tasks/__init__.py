"""The operations behind the app's tabs: pure functions, PIL/numpy in and out, testable without a browser.

    sampling.py directions.py         GAN samples, latent directions (SeFa) and their measured names
    interpolation.py                  VAE encode/decode, latent paths, traversals
    translation.py                    pix2pix and CycleGAN on an uploaded or drawn image
    inpainting.py latent_inpainting.py  repair inside a mask (classical, deep image prior, GAN/VAE latent search)
    augment.py                        labelled samples to grow a small dataset

Tasks use models, datasets, images and hub; they never import ui, evaluation or train.
"""
