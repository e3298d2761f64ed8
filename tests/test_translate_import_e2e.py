"""Imported pytorch-CycleGAN-and-pix2pix translators through the running app (gradio_client): a CycleGAN pair and
single generators uploaded to /import_translator, then /translate (a 4000x3000 phone-size photo at a bounded working
size; pix2pix variety) and /translate_unpaired (the cycle view) answer with the package's pictures; hostile and
wrong files are refused, run nothing, and the server keeps serving."""

from __future__ import annotations


import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

import genlab
from genlab.tasks.translation import MAX_SIDE, photo_input, translate_photo, translate_photo_pair
from genlab.ui.translate_tab import PHOTO_EXAMPLES
from zoo_fixtures import hostile_pth


@pytest.fixture(scope="module")
def imported(client, zoo):
    pair = client.predict([handle_file(str(zoo / "horse2zebra" / "latest_net_G_A.pth")),
                           handle_file(str(zoo / "horse2zebra" / "latest_net_G_B.pth"))], "e2e-h2z", "horse, zebra", "",
                          api_name="/import_translator")
    single = client.predict([handle_file(str(zoo / "horse2zebra.pth"))], "e2e-horse2zebra", "", "",
                            api_name="/import_translator")
    facades = client.predict([handle_file(str(zoo / "facades_label2photo.pth"))], "e2e-facades", "labels, facade",
                             "BSD-3-Clause", api_name="/import_translator")
    return pair, single, facades


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def test_uploaded_generators_become_translators(imported):
    (card, task_box, cy_box, status), single, facades = imported
    assert "Imported latest_net_G_A.pth latest_net_G_B.pth as **e2e-h2z**" in status
    assert cy_box["value"] == "e2e-h2z" and ["horse ↔ zebra (e2e-h2z)", "e2e-h2z"] in cy_box["choices"]
    assert "horse → zebra (G_A), zebra → horse (G_B)" in card and "resnet_9blocks" in card
    _, task_box, _, _ = single
    assert task_box["value"] == "e2e-horse2zebra"
    assert ["horse → zebra (e2e-horse2zebra)", "e2e-horse2zebra"] in task_box["choices"]
    card, task_box, _, _ = facades
    assert ["labels → facade (e2e-facades)", "e2e-facades"] in task_box["choices"]
    assert "unet_256" in card and "BSD-3-Clause" in card


def test_a_phone_size_photo_translates_at_a_bounded_size(client, imported, zoo, tmp_path):
    """A 4000x3000 JPEG: decoded at reduced size, translated at 1024x768 (MAX_SIDE), the package's picture."""
    rng = np.random.default_rng(1)
    small = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
    photo = tmp_path / "phone.jpg"
    Image.fromarray(small).resize((4000, 3000), Image.BICUBIC).save(photo, quality=85)
    seen, out = client.predict(handle_file(str(photo)), "e2e-horse2zebra", 4, 0, api_name="/translate")
    expected_size = (MAX_SIDE, MAX_SIDE * 3 // 4)
    assert Image.open(out).size == expected_size and Image.open(seen).size == expected_size
    from genlab.formats import import_checkpoint

    g = genlab.load(str(import_checkpoint(zoo / "horse2zebra.pth", "again", tmp_path / "m").folder), device=None)
    expected = translate_photo(g, photo_input(photo, 3))
    want = np.asarray(((expected[0].permute(1, 2, 0).clamp(-1, 1) + 1) * 127.5).round().byte())
    assert np.abs(_pixels(out) - want).max() <= 1


def test_pix2pix_variety_and_the_cycle_view(client, imported, zoo, tmp_path):
    photo = str(PHOTO_EXAMPLES[0])  # scikit-image's astronaut, 512 x 512
    _, one = client.predict(handle_file(photo), "e2e-facades", 3, 0, False, api_name="/translate")
    _, three = client.predict(handle_file(photo), "e2e-facades", 3, 0, True, api_name="/translate")
    assert Image.open(one).size == (512, 512)
    assert Image.open(three).size == (3 * 514 + 2, 516)  # three samples side by side in a 2-px frame
    tiles = [_pixels(three)[2:514, 2 + i * 514 : 2 + i * 514 + 512] for i in range(3)]
    assert np.abs(tiles[0] - tiles[1]).max() > 0  # each sample its own dropout
    out, back = client.predict(handle_file(photo), "e2e-h2z", "B->A", api_name="/translate_unpaired")
    assert Image.open(out).size == Image.open(back).size == (512, 512)
    from genlab.formats import import_checkpoint

    m = genlab.load(str(import_checkpoint([zoo / "horse2zebra" / "latest_net_G_A.pth",
                                           zoo / "horse2zebra" / "latest_net_G_B.pth"], "pair", tmp_path).folder),
                    device=None)
    y, z = translate_photo_pair(m, photo_input(photo, 3), "B->A")
    for shown, t in ((out, y), (back, z)):
        want = np.asarray(((t[0].permute(1, 2, 0).clamp(-1, 1) + 1) * 127.5).round().byte())
        assert np.abs(_pixels(shown) - want).max() <= 1


def test_wrong_and_hostile_uploads_are_refused(client, imported, zoo, foreign, tmp_path):
    marker = tmp_path / "ran"
    evil = hostile_pth(tmp_path / "latest_net_G.pth", marker)
    with pytest.raises(AppError, match="weights_only"):
        client.predict([handle_file(str(evil))], "evil", "", "", api_name="/import_translator")
    assert not marker.exists()
    with pytest.raises(AppError, match="image generator"):  # a GAN belongs in the GAN tab
        client.predict([handle_file(str(foreign / "dcgan_netG_epoch_24.pth"))], "gan", "", "",
                       api_name="/import_translator")
    with pytest.raises(AppError, match="one generator file, or a CycleGAN's two"):
        client.predict([handle_file(str(zoo / "horse2zebra.pth"))] * 3, "three", "", "", api_name="/import_translator")
    with pytest.raises(AppError, match="Domains"):
        client.predict([handle_file(str(zoo / "horse2zebra.pth"))], "d", "horse", "", api_name="/import_translator")
    with pytest.raises(AppError, match="image translator"):  # and a translator is not a GAN
        client.predict(handle_file(str(zoo / "horse2zebra.pth")), "t", "", api_name="/import_checkpoint")
    with pytest.raises(AppError, match="(?i)direction"):
        client.predict(handle_file(str(PHOTO_EXAMPLES[0])), "e2e-h2z", "C->D", api_name="/translate_unpaired")
    _, out = client.predict(handle_file(str(PHOTO_EXAMPLES[1])), "e2e-horse2zebra", 1, 0, api_name="/translate")
    assert Image.open(out).size == (452, 300)  # still serving: scikit-image's chelsea, 451 x 300 -> multiples of 4
