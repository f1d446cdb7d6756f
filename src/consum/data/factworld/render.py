"""Fill ``{slot}`` templates sentence by sentence, remembering which roles the text states."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

SLOT_RE = re.compile(r"\{(\w+)\}")


def slots(template: str) -> list[str]:
    return SLOT_RE.findall(template)


@dataclass
class Text:
    sentences: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)  # roles stated, in order of first appearance

    def add_sentence(
        self, template: str, role_text: Callable[[str], str], details: Mapping[str, str]
    ) -> None:
        """Append one sentence; a slot is a detail word if ``details`` has it, else a role."""

        def fill(match: re.Match) -> str:
            name = match.group(1)
            if name in details:
                return details[name]
            if name not in self.roles:
                self.roles.append(name)
            return role_text(name)

        sentence = SLOT_RE.sub(fill, template)
        self.sentences.append(sentence[:1].upper() + sentence[1:])

    @property
    def text(self) -> str:
        return " ".join(self.sentences)
