"""Local, private, multilingual question answering over news articles, with citations."""

from rag.answer import Answer, Citation
from rag.assistant import Assistant, Delta, QuestionError, Sources
from rag.models import ModelError
from rag.settings import Settings

__all__ = [
    "Answer",
    "Assistant",
    "Citation",
    "Delta",
    "ModelError",
    "QuestionError",
    "Settings",
    "Sources",
]
