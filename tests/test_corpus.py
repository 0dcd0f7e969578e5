import pytest

from rag.corpus import ArticleError, article_files, decode, load_article, normalise


def test_utf8_utf16_and_latin1_decode_to_the_same_text():
    text = "Größe und Café – 13 Milliarden"
    assert decode(text.encode("utf-8"), "a") == text
    assert decode("\ufeff".encode("utf-8") + text.encode("utf-8"), "a") == text
    assert decode(text.encode("utf-16"), "a") == text
    assert decode("Größe und Café".encode("latin-1"), "a") == "Größe und Café"


def test_binary_content_is_refused_with_the_file_name():
    with pytest.raises(ArticleError, match="photo.txt"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.txt")


def test_normalise_removes_zero_width_and_folds_spaces_but_keeps_paragraphs():
    assert normalise("A\u200b  b\r\n\r\n\r\n\r\nC\u00a0d ") == "A b\n\nC d"


def test_txt_and_md_titles_come_from_the_first_line(tmp_path):
    (tmp_path / "a.txt").write_text("\n\nErster Titel\nText hier.", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Markdown Titel\n\nText.", encoding="utf-8")
    assert load_article(tmp_path / "a.txt", tmp_path).title == "Erster Titel"
    assert load_article(tmp_path / "b.md", tmp_path).title == "Markdown Titel"


def test_html_is_reduced_to_text_with_the_title_tag(tmp_path):
    html = (
        "<html><head><title>Microsoft investiert</title><script>alert(1)</script></head><body>"
        "<nav>Menü</nav><article><h1>Microsoft investiert</h1><p>Microsoft hat mindestens 13 Milliarden Dollar "
        "in OpenAI investiert, das Unternehmen hinter ChatGPT. Das berichtet die Zeitung am Montag.</p>"
        "<p>Die Partnerschaft begann im Jahr 2019 mit einer Milliarde Dollar.</p></article></body></html>"
    )
    (tmp_path / "n.html").write_text(html, encoding="utf-8")
    article = load_article(tmp_path / "n.html", tmp_path)
    assert article.title == "Microsoft investiert"
    assert "13 Milliarden" in article.text and "<p>" not in article.text and "alert" not in article.text
    assert article.language == "de"


def test_empty_file_is_refused(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(ArticleError, match="empty.txt"):
        load_article(tmp_path / "empty.txt", tmp_path)


def test_only_article_files_are_listed(tmp_path):
    for name in ["a.txt", "b.md", "c.html", "d.pdf", ".hidden.txt", "sub/e.txt"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x")
    assert [p.relative_to(tmp_path).as_posix() for p in article_files(tmp_path)] == ["a.txt", "b.md", "c.html", "sub/e.txt"]


def test_content_hash_is_of_the_bytes(corpus):
    import hashlib

    path = next(corpus.glob("*.txt"))
    assert load_article(path, corpus).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_uploads_keep_only_a_plain_name_of_an_article_type_within_the_size_limit():
    from rag.corpus import MAX_UPLOAD_BYTES, upload_name

    assert upload_name("../../etc/x.txt", 10) == "x.txt"
    assert upload_name("C:\\Users\\me\\Nachricht über Köln.md", 10) == "Nachricht über Köln.md"
    with pytest.raises(ArticleError, match="only .txt"):
        upload_name("report.pdf", 10)
    with pytest.raises(ArticleError, match="5 MB limit"):
        upload_name("big.txt", MAX_UPLOAD_BYTES + 1)
    with pytest.raises(ArticleError, match="not a usable file name"):
        upload_name("../.hidden.txt", 10)
    with pytest.raises(ArticleError, match="empty"):
        upload_name("a.txt", 0)
