"""The kernel's own scheduled jobs (the features declare theirs in their `Feature`)."""
from __future__ import annotations

from core.kernel.directory import IDENTIFY_JOB
from core.kernel.identity import identify_job
from core.kernel.runner import LOOKUP_JOB, member_lookup_job

KERNEL_JOBS = {
    IDENTIFY_JOB: identify_job,          # automatic identity: a new account is looked up in its directory
    LOOKUP_JOB: member_lookup_job,       # a command naming a user not seen yet: the directory, then again
}
