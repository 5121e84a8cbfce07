#!/usr/bin/python3
# Drives a QMI device through Debian's libqmi-glib (libqmi-glib5, the library qmicli is
# built on), called with ctypes: opens DEVICE in QMI mode as `qmicli --device-open-qmi`
# does (QMI_DEVICE_OPEN_FLAGS_NONE), allocates a UIM client id, sends the UIM requests
# given on stdin as raw QMI messages through qmi_device_command_full() and prints each
# response, then releases the client id. Debian 12's qmicli (libqmi 1.32) has no
# --uim-open-logical-channel / --uim-send-apdu / --uim-close-logical-channel (libqmi 1.36
# added those messages), and PyGObject cannot build raw QmiMessages (a GByteArray
# typedef), hence ctypes. Python's standard library only.
# stdin: JSON list of {"message": <UIM message id>, "tlvs": [[<type>, "<hex value>"], ...]}
# stdout: {"cid": n} once, then per request {"raw": "<hex of the response QMUX frame>"}
#         or {"error": "<GError message>"}; {"fatal": "..."} ends the run (exit 1).
import ctypes
import ctypes.util
import json
import struct
import sys

glib = ctypes.CDLL(ctypes.util.find_library('glib-2.0') or 'libglib-2.0.so.0')
gio = ctypes.CDLL(ctypes.util.find_library('gio-2.0') or 'libgio-2.0.so.0')
qmi = ctypes.CDLL(ctypes.util.find_library('qmi-glib') or 'libqmi-glib.so.5')

P = ctypes.c_void_p
READY = ctypes.CFUNCTYPE(None, P, P, P)
SOURCE = ctypes.CFUNCTYPE(ctypes.c_int, P)


class GError(ctypes.Structure):
    _fields_ = [('domain', ctypes.c_uint32), ('code', ctypes.c_int), ('message', ctypes.c_char_p)]


def sig(lib, name, res, *args):
    f = getattr(lib, name)
    f.restype, f.argtypes = res, list(args)
    return f


g_file_new_for_path = sig(gio, 'g_file_new_for_path', P, ctypes.c_char_p)
g_main_loop_new = sig(glib, 'g_main_loop_new', P, P, ctypes.c_int)
g_main_loop_run = sig(glib, 'g_main_loop_run', None, P)
g_main_loop_quit = sig(glib, 'g_main_loop_quit', None, P)
g_timeout_add_seconds = sig(glib, 'g_timeout_add_seconds', ctypes.c_uint, ctypes.c_uint, SOURCE, P)
g_byte_array_new = sig(glib, 'g_byte_array_new', P)
g_byte_array_append = sig(glib, 'g_byte_array_append', P, P, ctypes.c_char_p, ctypes.c_uint)
ERR = ctypes.POINTER(ctypes.POINTER(GError))
qmi_device_new = sig(qmi, 'qmi_device_new', None, P, P, READY, P)
qmi_device_new_finish = sig(qmi, 'qmi_device_new_finish', P, P, ERR)
qmi_device_open = sig(qmi, 'qmi_device_open', None, P, ctypes.c_int, ctypes.c_uint, P, READY, P)
qmi_device_open_finish = sig(qmi, 'qmi_device_open_finish', ctypes.c_int, P, P, ERR)
qmi_device_allocate_client = sig(qmi, 'qmi_device_allocate_client', None, P, ctypes.c_int, ctypes.c_uint8, ctypes.c_uint, P, READY, P)
qmi_device_allocate_client_finish = sig(qmi, 'qmi_device_allocate_client_finish', P, P, P, ERR)
qmi_device_release_client = sig(qmi, 'qmi_device_release_client', None, P, P, ctypes.c_int, ctypes.c_uint, P, READY, P)
qmi_device_release_client_finish = sig(qmi, 'qmi_device_release_client_finish', ctypes.c_int, P, P, ERR)
qmi_device_command_full = sig(qmi, 'qmi_device_command_full', None, P, P, P, ctypes.c_uint, P, READY, P)
qmi_device_command_full_finish = sig(qmi, 'qmi_device_command_full_finish', P, P, P, ERR)
qmi_client_get_cid = sig(qmi, 'qmi_client_get_cid', ctypes.c_uint8, P)
qmi_message_new_from_raw = sig(qmi, 'qmi_message_new_from_raw', P, P, ERR)
qmi_message_get_raw = sig(qmi, 'qmi_message_get_raw', P, P, ctypes.POINTER(ctypes.c_size_t), ERR)

QMI_SERVICE_UIM = 0x0B
QMI_CID_NONE = 0
QMI_DEVICE_RELEASE_CLIENT_FLAGS_RELEASE_CID = 1

loop = g_main_loop_new(None, 0)
state = {'exit': 0}
keep = []  # ctypes callbacks must outlive the calls that take them


def out(obj):
    print(json.dumps(obj), flush=True)


def gerror():
    return ctypes.POINTER(GError)()


def errtext(e):
    return e.contents.message.decode() if e else 'unknown error'


def fatal(msg):
    out({'fatal': msg})
    state['exit'] = 1
    g_main_loop_quit(loop)


def ready(fn):
    cb = READY(lambda src, res, _ud: fn(src, res))
    keep.append(cb)
    return cb


def qmux(cid, tid, message, tlvs):
    body = b''.join(struct.pack('<BH', t, len(v)) + v for t, v in tlvs)
    # service header: flags u8, transaction u16, message u16, tlv length u16
    head = struct.pack('<BHHH', 0x00, tid, message, len(body))
    frame = struct.pack('<BBB', 0x00, QMI_SERVICE_UIM, cid) + head + body
    return b'\x01' + struct.pack('<H', len(frame) + 2) + frame


def main():
    path, requests = sys.argv[1].encode(), json.load(sys.stdin)

    def on_new(_src, res):
        e = gerror()
        state['device'] = qmi_device_new_finish(res, ctypes.byref(e))
        if not state['device']:
            return fatal('qmi_device_new: ' + errtext(e))
        qmi_device_open(state['device'], 0, 10, None, ready(on_open), None)

    def on_open(dev, res):
        e = gerror()
        if not qmi_device_open_finish(dev, res, ctypes.byref(e)):
            return fatal('qmi_device_open: ' + errtext(e))
        qmi_device_allocate_client(dev, QMI_SERVICE_UIM, QMI_CID_NONE, 10, None, ready(on_client), None)

    def on_client(dev, res):
        e = gerror()
        state['client'] = qmi_device_allocate_client_finish(dev, res, ctypes.byref(e))
        if not state['client']:
            return fatal('qmi_device_allocate_client: ' + errtext(e))
        state['cid'] = qmi_client_get_cid(state['client'])
        out({'cid': state['cid']})
        send(0)

    def send(i):
        if i == len(requests):
            return qmi_device_release_client(state['device'], state['client'], QMI_DEVICE_RELEASE_CLIENT_FLAGS_RELEASE_CID, 10, None, ready(on_released), None)
        req = requests[i]
        raw = qmux(state['cid'], 0x100 + i, req['message'], [(t, bytes.fromhex(v)) for t, v in req['tlvs']])
        array = g_byte_array_new()
        g_byte_array_append(array, raw, len(raw))
        e = gerror()
        message = qmi_message_new_from_raw(array, ctypes.byref(e))
        if not message:
            return fatal('qmi_message_new_from_raw: ' + errtext(e))

        def on_reply(dev, res):
            e2 = gerror()
            reply = qmi_device_command_full_finish(dev, res, ctypes.byref(e2))
            if not reply:
                out({'error': errtext(e2)})
            else:
                n = ctypes.c_size_t(0)
                data = qmi_message_get_raw(reply, ctypes.byref(n), None)
                out({'raw': ctypes.string_at(data, n.value).hex()})
            send(i + 1)

        qmi_device_command_full(state['device'], message, None, 10, None, ready(on_reply), None)

    def on_released(dev, res):
        e = gerror()
        if not qmi_device_release_client_finish(dev, res, ctypes.byref(e)):
            return fatal('qmi_device_release_client: ' + errtext(e))
        g_main_loop_quit(loop)

    qmi_device_new(g_file_new_for_path(path), None, ready(on_new), None)
    timeout = SOURCE(lambda _ud: fatal('no result within 60 s') or 0)
    keep.append(timeout)
    g_timeout_add_seconds(60, timeout, None)
    g_main_loop_run(loop)
    sys.exit(state['exit'])


main()
