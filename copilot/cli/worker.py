"""``copilot worker``: run the delivery job workers (Huey consumers), or every due job once."""

from __future__ import annotations

import click

from copilot.settings import get_settings


@click.command()
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: COPILOT_WORKERS, 2).")
@click.option("--until-idle", is_flag=True, help="Run every job that is due now in this process, then exit.")
def worker(workers: int | None, until_idle: bool) -> None:
    """Send scheduled campaigns and run event journeys.

    Jobs live in Huey's SQLite file in the data folder, or in Redis when REDIS_URL is set; any number
    of workers on any number of hosts may run against the same database and queue.
    """
    from copilot import db
    from copilot.delivery.jobs import get_huey, run_until_idle
    from copilot.runtime import Runtime

    settings = get_settings()
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    engine.dispose()
    huey = get_huey(settings)
    queue = f"Redis {settings.redis_url}" if settings.redis_url else f"{settings.data_dir / 'jobs.db'}"
    if until_idle:
        runtime = Runtime.start(settings, migrate=False)
        try:
            report = run_until_idle(runtime, huey=huey)
        finally:
            runtime.close()
        click.echo(f"idle after {report.ticks} round(s): {report.started} campaign(s) started, "
                   f"{report.entered:,} entered, {report.decided:,} decided, {report.sent:,} sent, "
                   f"{report.already:,} already sent, {report.suppressed:,} suppressed, {report.failed:,} failed")
        return
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(processName)s %(name)s %(levelname)s %(message)s")
    count = workers or settings.workers
    transport = "SMTP relay " + f"{settings.smtp_host}:{settings.smtp_port}" if settings.transport == "smtp" \
        else f"outbox {settings.outbox_path}"
    click.echo(f"delivery workers: {count} process(es), queue {queue}, sending to {transport}")
    consumer = huey.create_consumer(workers=count, worker_type="process", periodic=True, scheduler_interval=1,
                                    check_worker_health=True, health_check_interval=5)
    consumer.run()
