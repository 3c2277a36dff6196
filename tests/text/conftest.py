def pytest_configure(config):
    # The text tests mark their few multi-second tests so CI can run `-m "not slow"`.
    config.addinivalue_line("markers", "slow: takes more than about 3 s on 2 busy cores")
