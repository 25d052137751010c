"""The simulated consumer lives in the package (``migrate demo`` uses it); the tests import it from here too."""

from migrator.demo.consumer import Ack, SimulatedConsumer, create_writer_function, load_handler

__all__ = ["Ack", "SimulatedConsumer", "create_writer_function", "load_handler"]
