from tests.fake_electricitymaps import fake_api  # noqa: F401 - the loopback server fixture
