"""Instructions as TwiML (Twilio's voice markup), built with Twilio's own library."""

from __future__ import annotations

import math
from collections.abc import Sequence

from twilio.twiml.voice_response import Gather as TwimlGather
from twilio.twiml.voice_response import VoiceResponse

from callcenter.ivr.domain.instructions import (
    Connect,
    Enqueue,
    Gather,
    Hangup,
    Instruction,
    Play,
    Record,
    Say,
    Transfer,
)


def to_twiml(
    instructions: Sequence[Instruction],
    *,
    gather_url: str,
    recording_url: str,
    wait_url: str = "",
    next_url: str = "",
    on_silence: bool = True,
) -> str:
    """``on_silence``: a gather posts to its action when nothing was pressed too (our
    no-input); on hold it does not, and the hold music goes on. ``next_url``: where
    Twilio asks what a caller who leaves a queue does next (after the agent's part)."""
    response = VoiceResponse()
    for item in instructions:
        match item:
            case Say() | Play():
                _prompt(response, item)
            case Gather():
                attributes: dict[str, object] = {
                    "input": "dtmf",
                    "action": gather_url,
                    "method": "POST",
                    "timeout": max(1, math.ceil(item.timeout)),
                    "finish_on_key": item.finish_key,
                }
                if on_silence:  # Twilio posts to the action with no Digits
                    attributes["action_on_empty_result"] = True
                if item.min_digits == item.max_digits:
                    attributes["num_digits"] = item.max_digits
                gather = response.gather(**attributes)
                for prompt in item.prompts:
                    _prompt(gather, prompt)
            case Enqueue():
                # The wait URL tells the position and wait, offers a callback, plays music.
                response.enqueue(
                    item.queue,
                    action=next_url or None,
                    method="POST" if next_url else None,
                    wait_url=wait_url or None,
                    wait_url_method="POST",
                )
            case Record():
                response.record(
                    action=recording_url,
                    method="POST",
                    max_length=item.max_length,
                    finish_on_key=item.finish_key or None,
                    play_beep=True,
                )
            case Transfer():
                response.dial(item.number)
            case Connect():
                # the agent's Twilio Client identity is their agent id
                response.dial().client(item.agent_id)
            case Hangup():
                response.hangup()
    return str(response)


def _prompt(parent: VoiceResponse | TwimlGather, prompt: Say | Play) -> None:
    if isinstance(prompt, Play):
        parent.play(prompt.url)
    else:
        parent.say(prompt.text, language=prompt.language, voice=prompt.voice)
