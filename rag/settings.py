"""One frozen settings object, read from the environment (prefix ``RAG_``) or a TOML file.

Create it at the boundary (CLI, UI, eval) and pass it explicitly into the library.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag-news"


class Settings(BaseSettings):
    """Every knob of the assistant. Defaults work offline on a 2-core CPU.

    >>> Settings(top_k=3).top_k
    3
    """

    model_config = SettingsConfigDict(
        env_prefix="RAG_",
        frozen=True,
        extra="forbid",
        toml_file=os.environ.get("RAG_CONFIG", "rag.toml"),
    )

    corpus: Path = Field(Path("seeds"), description="Folder of articles (.txt, .md, .html).")
    index: Path = Field(Path("index"), description="Folder where the built index lives.")
    chroma_url: str = Field(
        "",
        description="URL of a Chroma server (`chroma run`) holding the index for every client; "
        "empty = the index folder.",
    )
    model_cache: Path = Field(
        default_factory=lambda: default_cache_dir() / "models",
        description="Where `rag models` puts the packaged weights.",
    )
    generator: str = Field(
        "",
        description="GGUF file path, or 'owner/repo:file.gguf' on a hub; "
        "empty = packaged Qwen2.5-Coder-1.5B.",
    )
    generator_url: str = Field(
        "",
        description="Base URL of an OpenAI-compatible server to generate on "
        "(e.g. http://127.0.0.1:8080/v1); empty = llama.cpp in-process.",
    )
    generator_model: str = Field(
        "", description="Model name sent to the generator server (empty: the server's default)."
    )
    generator_api_key: SecretStr = Field(
        SecretStr(""), description="Bearer key for the generator server, if it needs one."
    )
    generator_timeout: float = Field(
        120.0, gt=0, description="Seconds to wait for the generator server's next token."
    )
    embedder: str = Field(
        "",
        description="sentence-transformers folder or hub id; empty = packaged EmbeddingGemma-300M.",
    )
    vector_cache: str = Field(
        default_factory=lambda: str(default_cache_dir() / "vectors.sqlite"),
        description="SQLite file of the passage and sentence vectors already computed, so that "
        "no text is embedded twice (rag.vector_cache); empty = no cache.",
    )
    threads: int = Field(2, ge=1, description="CPU threads for llama.cpp and torch.")
    context_tokens: int = Field(4096, ge=512, description="llama.cpp context size.")
    draft_tokens: int = Field(
        3,
        ge=0,
        le=16,
        description="Tokens guessed ahead from the prompt while the answer is written, checked "
        "by the model in one batch (prompt lookup: faster writing; batched arithmetic changes "
        "some answers' wording; 0 = none).",
    )
    passage_states_mb: int = Field(
        512,
        ge=0,
        description="Memory for passages read ahead: their KV cells, kept so that a question "
        "about one reads only itself (about 3 MB a passage; 0 = every passage read with its "
        "question).",
    )
    passage_states_dir: str = Field(
        default_factory=lambda: str(default_cache_dir() / "passage-states"),
        description="Where the passages read ahead are kept on disk too (within "
        "passage_states_mb), so that a restart has them at once; empty = memory only.",
    )
    read_ahead: bool = Field(
        True,
        description="While idle, the web chat and the API server read the indexed passages "
        "ahead, until passage_states_mb is full; a question stops it at once.",
    )
    chunk_chars: int = Field(
        350,
        ge=100,
        description="Target passage length in characters (passages end at sentence ends).",
    )
    instruction_screen: bool = Field(
        True,
        description="Keep article sentences that address the assistant out of its prompt "
        "(a classifier over sentence vectors, run while indexing; rag.screening).",
    )
    top_k: int = Field(
        3,
        ge=1,
        le=50,
        description="Passages retrieved and shown as sources.",
    )
    bm25_weight: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Weight of BM25 in the fused score (0 = dense only, 1 = BM25 only).",
    )
    passage_token_budget: int = Field(
        420,
        ge=64,
        description="Prompt tokens spent on passages, titles included: "
        "the main lever on time to first token.",
    )
    max_answer_tokens: int = Field(
        160, ge=16, description="Generation stops after this many tokens."
    )
    min_dense_score: float | None = Field(
        None,
        description="Abstain without asking the LLM when the best passage's cosine is below "
        "this; empty = the answer model's own floor.",
    )
    answer_model: Path | None = Field(
        None,
        description="The answer model (rag/abstention.py): coefficients fitted by "
        "eval/calibrate.py for this generator; empty = the packaged rag/answer_model.json.",
    )
    min_answer_probability: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Abstain when the probability that the passages answer the question is "
        "below this; "
        "empty = the answer model's own threshold.",
    )
    judge_passages: int = Field(
        1,
        ge=1,
        le=50,
        description="Passages (best first) the LLM reads for its yes/no judgement; "
        "the answer reads all.",
    )
    judge_further: int = Field(
        0,
        ge=0,
        le=10,
        description="When the judged passages hold no answer, judge each of the next this many "
        "passages alone (each costs a passage's reading).",
    )
    judge_second_within: float = Field(
        0.0,
        ge=0.0,
        le=2.0,
        description="Also judge the next passage alone when its cosine is within this of the "
        "best's, and answer from the one the answer model rates likelier (0 = never; it "
        "costs a passage's reading).",
    )
    answer_from_judgement: bool = Field(
        True,
        description="The answer goes on from the judgement's prompt (the judged passages, "
        "every token read once); all passages are read only if that answer fails the check.",
    )
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused.")
    host: str = Field(
        "127.0.0.1",
        description="Web chat address; any other than loopback needs auth_user and auth_password.",
    )
    port: int = Field(7860, ge=1, le=65535, description="Web chat port.")
    auth_user: str = Field("", description="Web chat login name (required off loopback).")
    auth_password: SecretStr = Field(
        SecretStr(""), description="Web chat password (required off loopback)."
    )
    api_port: int = Field(
        8000, ge=1, le=65535, description="Port of the OpenAI-compatible API (`rag serve --api`)."
    )
    api_key: SecretStr = Field(
        SecretStr(""),
        description="Bearer key the API requires (always when set; required off loopback).",
    )
    feedback_file: Path = Field(
        Path("~/.local/share/rag-news/feedback.jsonl"),
        description="Where the web chat keeps ratings of answers (never sent anywhere).",
    )
    allowed_hosts: str = Field(
        "",
        description="Host names, besides loopback and `host`, by which the web chat and the "
        "API may be reached (comma-separated; `*` for any).",
    )

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def is_loopback(host: str) -> bool:
    """
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
