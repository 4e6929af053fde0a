"""kefu 客服 — omnichannel customer service: one conversation, one ticket, a closed loop."""
