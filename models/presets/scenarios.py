"""The built-in scenarios, each number with the reasoning behind it.

* ``video-call`` and ``gaming``: the RTGen study's scenario classes (arXiv 2507.14715: periodic
  vision/audio models with frame deadlines beside an LLM), built the way its group's XRBench
  (MLSys 2023) defines scenarios: models with target frame rates, deadline = one frame.
* ``agent-assistant``: Agent.xpu's workload (arXiv 2506.24045): reactive chat and proactive
  summarisation on Llama-3.2-3B with Poisson arrivals.
* ``compound-ai``: Twill's workload (arXiv 2507.00491): ResNet-152, VGG-19, BERT-base, BERT-large
  and a small LLM arriving in unknown order with priorities, under a power budget.
"""

from __future__ import annotations

import os
from pathlib import Path

from xpuplan.models.errors import InvalidInput
from xpuplan.models.scenario import ModelRef, Periodic, Poisson, Scenario, Task, load_scenario

# Camera pipelines run at the webcam's 30 FPS (the common default of conferencing apps); an
# effect must be applied before the next frame arrives, so the deadline is one frame (33.3 ms).
_CAMERA_FPS = 30.0
# Conferencing audio travels in 20 ms frames (Opus's default frame size, RFC 6716 Sec. 2.1.4);
# noise suppression must finish each frame before the next one: 50 Hz, 20 ms deadline.
_AUDIO_FRAME_HZ = 50.0

VIDEO_CALL = Scenario(
    name="video-call",
    description="Video conferencing on a laptop: background segmentation and face landmarks per "
    "camera frame, noise suppression per audio frame, live captions, an LLM answering questions "
    "and keeping live notes.",
    objective="late_jobs,energy",
    rationale="Periodic tasks are planned over their hyperperiod (1 s: 30 FPS, 50 Hz and 1 Hz "
    "align every second); the assistant's questions and notes are unknown and left to the "
    "runtime.",
    tasks=(
        Task(
            "background-seg",
            (ModelRef("portrait-seg"),),
            Periodic(_CAMERA_FPS),
            cls="periodic",
            priority=3,
            description="Portrait segmentation for background blur/replacement, every frame.",
        ),
        Task(
            "face-landmarks",
            (ModelRef("face-landmarks"),),
            Periodic(_CAMERA_FPS),
            cls="periodic",
            priority=3,
            description="Face mesh for framing and eye-contact correction, every frame.",
        ),
        Task(
            "noise-suppression",
            # DTLN advances in 8 ms steps: a 20 ms frame needs ceil(20 / 8) = 3 of them.
            (ModelRef("noise-suppression", {"frames": 3}),),
            Periodic(_AUDIO_FRAME_HZ),
            cls="periodic",
            # Audio dropouts are the most noticeable failure of a call: highest priority.
            priority=4,
            description="Speech enhancement on 20 ms audio frames.",
        ),
        Task(
            "captions",
            # Streaming ASR encodes 1 s chunks (the 1-2 s range, lower end for caption
            # latency); a chunk must be encoded before the next one arrives: deadline 1 s.
            (ModelRef("whisper-tiny-encoder", {"audio_s": 1.0}),),
            Periodic(1.0),
            cls="periodic",
            priority=2,
            description="Live captions: Whisper-tiny encoder over 1 s audio chunks.",
        ),
        Task(
            "meeting-assistant",
            (ModelRef("llama-3.2-3b"),),
            # About one question a minute in an active meeting; the prompt carries the question
            # and recent transcript (~512 tokens), the answer a short paragraph (~128 tokens).
            Poisson(1.0),
            cls="reactive",
            priority=1,
            prompt_tokens=512,
            output_tokens=128,
            chunk_tokens=128,
            description="Meeting assistant answering users' questions.",
        ),
        Task(
            "live-notes",
            (ModelRef("llama-3.2-3b"),),
            # Live meeting notes (as conferencing assistants offer): about every 30 s the LLM
            # folds the new transcript (~30 s of speech, ~100 tokens) into the running notes
            # (~400 tokens) and emits ~96 tokens. Triggered by the transcript, so unknown to the
            # planner; it keeps the LLM busy beside the frames, as in RTGen's setting.
            Poisson(2.0),
            cls="proactive",
            priority=1,
            prompt_tokens=512,
            output_tokens=96,
            chunk_tokens=128,
            known=False,
            description="Proactive live meeting notes.",
        ),
    ),
)

GAMING = Scenario(
    name="gaming",
    description="A game on a handheld/laptop: neural frame super-resolution at 60 FPS, hand "
    "gesture tracking from the webcam, an LLM-driven NPC that speaks its lines.",
    objective="late_jobs,energy",
    rationale="Periodic tasks are planned over their hyperperiod (1/30 s: two 60 FPS frames and "
    "one 30 FPS frame); NPC dialogue is triggered by the player and left to the runtime.",
    tasks=(
        Task(
            "super-resolution",
            (ModelRef("super-resolution"),),
            # Upscaling must finish inside the 16.7 ms frame budget of a 60 FPS game.
            Periodic(60.0),
            cls="periodic",
            priority=4,
            description="Frame super-resolution (540p -> 1080p) every rendered frame.",
        ),
        Task(
            "hand-tracking",
            (ModelRef("hand-tracking"),),
            # Gesture input at the webcam's 30 FPS (XRBench's hand tracking runs at 30 FPS).
            Periodic(_CAMERA_FPS),
            cls="periodic",
            priority=3,
            description="Palm detection and hand landmarks for gesture control.",
        ),
        Task(
            "npc-dialogue",
            # The NPC's line is generated, then spoken: a chain LLM -> speech synthesis.
            (ModelRef("llama-3.2-1b"), ModelRef("tts")),
            # A player addresses an NPC about twice a minute in dialogue-heavy play; the prompt
            # holds persona, history and the utterance (~256 tokens), a spoken line ~48 tokens.
            Poisson(2.0),
            cls="reactive",
            priority=2,
            prompt_tokens=256,
            output_tokens=48,
            chunk_tokens=128,
            description="NPC dialogue: an LLM writes the reply, a TTS model speaks it.",
        ),
    ),
)

AGENT_ASSISTANT = Scenario(
    name="agent-assistant",
    description="An agentic assistant (Agent.xpu): reactive user chat and proactive background "
    "summarisation sharing one Llama-3.2-3B on the SoC.",
    objective="weighted_completion",
    # One minute of Agent.xpu's 15-minute traces: ~8 proactive requests at 8 per minute.
    horizon_s=60.0,
    rationale="Proactive requests are queued by the agent itself, so a plan over a horizon can "
    "take them as known; reactive chat arrives unannounced and is left to the runtime.",
    tasks=(
        Task(
            "reactive-chat",
            (ModelRef("llama-3.2-3b"),),
            # Agent.xpu: reactive-mixed prompts ~213 tokens / ~70 output, 1-5 requests/min.
            Poisson(3.0),
            cls="reactive",
            priority=3,
            prompt_tokens=213,
            output_tokens=70,
            chunk_tokens=128,
            description="User-initiated chat turns.",
        ),
        Task(
            "proactive-summarize",
            (ModelRef("llama-3.2-3b"),),
            # Agent.xpu: proactive-mixed ~435 / ~81 tokens, 4-12 requests/min.
            Poisson(8.0),
            cls="proactive",
            priority=1,
            prompt_tokens=435,
            output_tokens=81,
            chunk_tokens=128,
            description="Background summarisation the agent prepares unasked.",
        ),
    ),
)

COMPOUND_AI = Scenario(
    name="compound-ai",
    description="Compound AI on an edge module (Twill): CNN, transformer and LLM requests arriving "
    "in unknown order with priorities, concurrently, under a 10 W power budget.",
    # Twill minimises average latency; weighting by priority makes important requests count more.
    objective="weighted_completion",
    # Twill keeps inferences under a budget with its own DVFS and freezing instead of nvpmodel's
    # static caps; 10 W is the Orin NX's lowest nvpmodel budget (nvpmodel_p3767_0000.conf). It
    # binds when the module runs unconstrained (MAXN): GPU flat out plus idle is ~12.4 W.
    power_budget_w=10.0,
    # 2 s hold ~26 requests at the rates below: every model, several overlapping.
    horizon_s=2.0,
    rationale="Every request is unknown to the runtime; the offline plan of its sampled arrivals "
    "is the clairvoyant optimum that online policies are measured against. The rates model a "
    "module serving a perception stack and users at once (Twill's concurrent setting): a few "
    "requests per second per model keep the GPU about a third busy at full clock, so requests "
    "overlap and mapping, migration and power decisions matter.",
    tasks=(
        Task(
            "detect",
            (ModelRef("resnet-152"),),
            Poisson(240.0),
            cls="reactive",
            priority=2,
            known=True,
            description="ResNet-152 image requests, 4 per second.",
        ),
        Task(
            "classify",
            (ModelRef("vgg-19"),),
            Poisson(120.0),
            cls="reactive",
            priority=1,
            known=True,
            description="VGG-19 image requests, 2 per second.",
        ),
        Task(
            "qa-small",
            (ModelRef("bert-base"),),
            Poisson(240.0),
            cls="reactive",
            priority=3,
            known=True,
            description="BERT-base question answering (128 tokens), 4 per second.",
        ),
        Task(
            "qa-large",
            (ModelRef("bert-large"),),
            Poisson(120.0),
            cls="reactive",
            priority=2,
            known=True,
            description="BERT-large question answering (128 tokens), 2 per second.",
        ),
        Task(
            "chat",
            # A small LLM with 4-bit weights fits the module's memory budget beside the others.
            (ModelRef("llama-3.2-1b", {"weight_bits": 4}),),
            Poisson(48.0),
            cls="reactive",
            priority=1,
            prompt_tokens=128,
            output_tokens=32,
            known=True,
            description="Short LLM answers, about one every 1.25 s.",
        ),
    ),
)

_BUILTIN = {s.name: s for s in (VIDEO_CALL, GAMING, AGENT_ASSISTANT, COMPOUND_AI)}


def scenario_names() -> list[str]:
    """Names of the built-in scenarios.

    Returns
    -------
    list[str]
        Each accepted by :func:`get_scenario`.

    Examples
    --------
    >>> scenario_names()
    ['video-call', 'gaming', 'agent-assistant', 'compound-ai']
    """
    return list(_BUILTIN)


def get_scenario(name: str) -> Scenario:
    """A built-in scenario by name.

    Parameters
    ----------
    name
        One of :func:`scenario_names` (:func:`resolve_scenario` also reads YAML files).

    Returns
    -------
    Scenario
        Its tasks (models, arrivals, deadlines, classes, priorities), objective and power budget.

    Raises
    ------
    InvalidInput
        When ``name`` is not a built-in scenario (``field="scenario"``).

    Examples
    --------
    >>> [task.name for task in get_scenario("gaming").tasks]
    ['super-resolution', 'hand-tracking', 'npc-dialogue']
    """
    try:
        return _BUILTIN[name]
    except KeyError:
        raise InvalidInput(
            f"is not a built-in scenario (known: {', '.join(_BUILTIN)}; or give a YAML file)",
            field="scenario",
            value=name,
        ) from None


def resolve_scenario(name_or_path: str | os.PathLike[str]) -> Scenario:
    """A built-in scenario's name, or a path to a scenario YAML file."""
    text = str(name_or_path)
    if text in _BUILTIN:
        return _BUILTIN[text]
    if text.endswith((".yaml", ".yml")) or Path(text).exists():
        return load_scenario(text)
    return get_scenario(text)
