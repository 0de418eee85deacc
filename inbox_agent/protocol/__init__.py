"""The office's joint protocol as data: its rules (``rules``) and the topics they select on.

Each office's ``[protocol]`` says, per category, election phase and topic, where a message is
routed and what its acknowledgement says; ``decide`` applies it and ``acknowledge`` words it.
Nothing here touches the register or a server.
"""
