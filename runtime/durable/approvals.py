"""Asking approvers: the messages a request sends when it is made, advances or reminds."""

from __future__ import annotations

from datetime import datetime

from runtime.durable.ports import ApprovalPort, OutboxPort, RecordPort
from zentra_rules.domain.messages import APPROVAL_VIA, USER_ADDRESS


def ask_approvers(approvals: ApprovalPort, records: RecordPort, outbox: OutboxPort,
                  now: datetime, request_id: int, sends: list[int], reminder: bool) -> None:
    """Tell the approvers asked now, through the request's channels (`console`: no send)."""
    request = approvals.approval(request_id)
    word = "Reminder: approval" if reminder else "Approval"
    for user_key in approvals.asked(request_id):
        user = records.get_user(user_key) or {"id": user_key, "email": user_key}
        message = {"subject": f"{word} needed: {request['name']}",
                   "body": f"{word} `{request['name']}` (request {request_id}) is waiting for "
                           f"your decision" + (f" until {request['deadline']}."
                                               if request["deadline"] else ".")}
        for via in request["via"]:
            channel = APPROVAL_VIA.get(via)
            if channel == "email" and user.get("email"):
                sends.append(outbox.queue_send("email", str(user["email"]), message, now,
                                               request["execution"]))
            elif channel is not None and channel != "email":
                address = user.get(USER_ADDRESS[channel]) or user.get("email") or user["id"]
                sends.append(outbox.queue_send(channel, str(address), {"body": message["body"]},
                                               now, request["execution"]))
