import socket
import time
import urllib.request

from dirvae.cli.train import start_viewer


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_view_serves_tensorboard_on_localhost(tmp_path, capsys):
    port = _free_port()
    process = start_viewer(tmp_path, port)
    try:
        assert f"http://127.0.0.1:{port}/" in capsys.readouterr().err
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert process.poll() is None, "TensorBoard exited"
                time.sleep(0.5)
        else:
            raise AssertionError("TensorBoard did not answer")
    finally:
        process.terminate()
        process.wait(timeout=30)
