"""The fuel kind's views: the dispenser map layer's data and the dispenser/nozzle detail."""
