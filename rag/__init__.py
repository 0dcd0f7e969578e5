"""Local, private, multilingual question answering over news articles, with citations.

Everything a front end (the web chat in `ui/`, a script) needs is exported here.
"""

from rag import feedback
from rag.answer import Answer, Citation, RejectedReading, Trace, supporting_sentences
from rag.assistant import Assistant, Delta, Sources
from rag.corpus import MAX_UPLOAD_BYTES
from rag.errors import (
    ArticleError,
    IndexProblem,
    ModelError,
    QuestionError,
    RagError,
)
from rag.export import conversation_markdown
from rag.followup import message_text
from rag.hosts import HostCheck, allowed_hosts
from rag.language import detect_language
from rag.settings import Settings, is_loopback

__all__ = [
    "MAX_UPLOAD_BYTES",
    "Answer",
    "ArticleError",
    "Assistant",
    "Citation",
    "Delta",
    "HostCheck",
    "IndexProblem",
    "ModelError",
    "QuestionError",
    "RagError",
    "RejectedReading",
    "Settings",
    "Sources",
    "Trace",
    "allowed_hosts",
    "conversation_markdown",
    "detect_language",
    "feedback",
    "is_loopback",
    "message_text",
    "supporting_sentences",
]
