"""« nouveau produit : confiture d'abricots, 250 g, 7.50, 20 pots, bio » read part by part, in four languages,
and a photo recognised by its first bytes (`work/products.py`, `marketplace/media.py`)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.media import PhotoRefused, photo_extension, store_photo
from work.products import NewProduct, parse_new_product

D = Decimal
JAM = NewProduct("confiture d'abricots", "250 g", D("7.50"), D(20), None, ("organic",))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nouveau produit : confiture d'abricots, 250 g, 7.50, 20 pots, bio", JAM),
        ("Nouveau produit confiture d'abricots; 250g; 7,50; 20 pots; Bio", JAM),
        ("je vends confiture d'abricots, 250 gr, 7.50 le pot, 20 pots, bio", JAM),
        ("neues Produkt: Aprikosenkonfitüre, 250 g, 7.50, 20 Gläser, Bio",
         NewProduct("Aprikosenkonfitüre", "250 g", D("7.50"), D(20), None, ("organic",))),
        ("nuovo prodotto: marmellata di albicocche, 250 g, 7,50, 20 vasetti, bio",
         NewProduct("marmellata di albicocche", "250 g", D("7.50"), D(20), None, ("organic",))),
        ("new product: apricot jam, 250 g, CHF 7.50, 20 jars, organic",
         NewProduct("apricot jam", "250 g", D("7.50"), D(20), None, ("organic",))),
        ("nouveau service : atelier vélo, 1 heure, 35.–, 8 places par semaine",
         NewProduct("atelier vélo", "hour", D(35), D(8), None, (), "week", service=True)),
        ("neue Dienstleistung: Velowerkstatt, 1 Stunde, 35.-, 8 Plätze pro Woche",
         NewProduct("Velowerkstatt", "hour", D(35), D(8), None, (), "week", service=True)),
        ("nouveau produit: tomme, le kg, 28.50, 5 kg, fromages",
         NewProduct("tomme", "kg", D("28.50"), D(5), "cheese")),
        ("new product: quince jelly, 370 g, 8.-, 12 jars, organic and gluten free",
         NewProduct("quince jelly", "370 g", D(8), D(12), None, ("organic", "gluten_free"))),
        ("nouveau produit : sirop, 5 dl, 9.80", NewProduct("sirop", "50 cl", D("9.80"))),
    ],
)  # fmt: skip
def test_a_new_product_is_read_part_by_part(text: str, expected: NewProduct) -> None:
    assert parse_new_product(text) == expected


def test_a_missing_price_is_left_for_the_action_to_ask() -> None:
    parsed = parse_new_product("nouveau produit : confiture de coings, 370 g, 12 pots")
    assert parsed is not None and parsed.price is None and parsed.stock == 12


def test_what_is_not_understood_is_kept_to_tell() -> None:
    parsed = parse_new_product("nouveau produit : confiture, 250 g, 7.50, 20 pots, livrée 3 fois 2x")
    assert parsed is not None and parsed.unread == ("livrée 3 fois 2x",)


@pytest.mark.parametrize("text", ["nouveau produit", "nouveau produit : 7.50, 20 pots", ""])
def test_no_name_no_product(text: str) -> None:
    assert parse_new_product(text) is None


@pytest.mark.parametrize(
    ("data", "extension"),
    [(b"\xff\xd8\xff\xe0rest", "jpg"), (b"\x89PNG\r\n\x1a\nrest", "png"), (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
     (b"GIF89a", None), (b"<svg>", None), (b"%PDF-1.7", None)],
)  # fmt: skip
def test_photos_are_recognised_by_their_content(data: bytes, extension: str | None) -> None:
    assert photo_extension(data) == extension


def test_an_oversized_photo_is_refused_before_anything_is_written(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PhotoRefused) as refused:
        store_photo(b"\xff\xd8\xff" + b"\x00" * 100, tmp_path, max_bytes=50)
    assert refused.value.message_key == "error.photo_too_large" and refused.value.params == {"max_mb": 0}
    assert list(tmp_path.iterdir()) == []
