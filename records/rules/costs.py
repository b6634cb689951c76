"""What a task cost, from its tokens and model, with the genai-prices database (pure, offline).

Perfsite counts tokens as Anthropic's API and Claude Code report them: ``input_tokens`` are the
input tokens that were neither read from nor written to the prompt cache, and the two cache
counts are separate. genai-prices counts input tokens OpenAI's way (cache tokens included), so
they are added up before asking it. A model the database does not know leaves the cost empty.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from genai_prices import Usage, __version__, calc_price

PRICE_SOURCE = f"genai-prices {__version__}"
GIVEN = "given"


@dataclass(frozen=True)
class Tokens:
    input: int | None = None
    output: int | None = None
    cache_read: int | None = None
    cache_creation: int | None = None

    @property
    def any(self) -> bool:
        return any(
            n is not None for n in (self.input, self.output, self.cache_read, self.cache_creation)
        )


def model_refs(model: str) -> list[str]:
    """Names to try in the price database: as given, then as an API model id
    (``Claude Sonnet 4.5`` -> ``claude-sonnet-4-5``, ``GLM 4.6`` -> ``glm-4.6``)."""
    slug = re.sub(r"\s+", "-", model.strip().lower())
    dashed = re.sub(r"(?<=\d)\.(?=\d)", "-", slug) if slug.startswith("claude") else slug
    return list(dict.fromkeys([model, slug, dashed]))


@functools.lru_cache(maxsize=4096)
def _price(model: str, total_input: int, output: int, cache_read: int, cache_write: int):
    usage = Usage(
        input_tokens=total_input,
        output_tokens=output,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )
    for ref in model_refs(model):
        try:
            return float(calc_price(usage, ref).total_price)
        except (LookupError, ValueError):
            continue
    return None


def task_cost(model: str | None, tokens: Tokens) -> float | None:
    """US dollars for these tokens on this model, or None (no tokens, or an unknown model)."""
    if not model or not tokens.any:
        return None
    cache_read = tokens.cache_read or 0
    cache_write = tokens.cache_creation or 0
    total_input = (tokens.input or 0) + cache_read + cache_write
    cost = _price(model, total_input, tokens.output or 0, cache_read, cache_write)
    return None if cost is None else round(cost, 6)
