"""`manage.py runworker CHANNEL ...`: Channels' command, running ``echo.workers.SturdyWorker``.

Channels' command names its worker class in ``worker_class``; this one is the same command with
a worker that skips a job with no "type" instead of stopping. It replaces Channels' command because
``echo`` comes before ``channels`` in ``INSTALLED_APPS`` (when two apps provide a command, the one
listed first wins: https://docs.djangoproject.com/en/5.2/howto/custom-management-commands/#overriding-commands).
"""

from channels.management.commands import runworker

from echo.workers import SturdyWorker


class Command(runworker.Command):
    worker_class = SturdyWorker
