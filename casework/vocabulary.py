"""The domain's words: roles, offices, platforms, behaviours and other fixed choices."""

ROLES = {
    "admin": "Administrator",
    "intake": "Intake coordinator (EOA)",
    "investigator": "Investigator (EOA)",
    "conduct_officer": "Conduct officer",
    "police_liaison": "Police liaison (UMPD)",
    "auditor": "Auditor",
}

OFFICES = {
    "eoa": "Equal Opportunity and Access (EOA)",
    "conduct": "Student Conduct",
    "umpd": "Campus police (UMPD)",
}

# The office a role belongs to, where it belongs to one.
ROLE_OFFICE = {
    "intake": "eoa",
    "investigator": "eoa",
    "conduct_officer": "conduct",
    "police_liaison": "umpd",
}

CASE_ROLES = ("intake", "investigator", "conduct_officer", "police_liaison")

PLATFORMS = {
    "facebook": "Facebook",
    "instagram": "Instagram",
    "x": "X (Twitter)",
    "tiktok": "TikTok",
    "linkedin": "LinkedIn",
    "snapchat": "Snapchat",
    "youtube": "YouTube",
    "reddit": "Reddit",
    "discord": "Discord",
    "email": "Email",
    "messaging_app": "Messaging app (WhatsApp, Signal, Telegram…)",
    "other": "Other",
}

BEHAVIOURS = {
    "threats": "Threats of violence",
    "impersonation": "Impersonation or a fake profile",
    "doxxing": "Sharing private information",
    "sexual_content": "Sexual content",
    "hate": "Hate or slurs",
    "stalking": "Repeated unwanted contact or stalking",
    "other": "Other",
}

AFFILIATIONS = {
    "student": "Student",
    "staff": "Staff",
    "faculty": "Faculty",
    "other": "Other / not affiliated",
    "unknown": "Not known",
}

PARTY_KINDS = {"respondent": "Respondent", "witness": "Witness"}

CHANNELS = {"web": "Web form", "phone": "Phone", "walk_in": "In person", "email": "Email"}

RISK_LEVELS = {"low": "Low", "medium": "Medium", "high": "High", "urgent": "Urgent"}

DISPOSITIONS = {
    "resolved": "Resolved",
    "no_policy_violation": "No policy violation",
    "referred_outside": "Referred outside the university",
    "withdrawn_by_reporter": "Withdrawn by reporter",
    "insufficient_information": "Insufficient information",
    "sanction_applied": "Sanction applied",
}

CONTACT_PREFERENCES = {"email": "Email", "phone": "Phone", "either": "Either"}

NOTE_VISIBILITIES = {"office": "Internal to my office", "shared": "Shared with every office on the case"}
