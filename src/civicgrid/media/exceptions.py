from civicgrid.errors import BadRequest


class BadPhoto(BadRequest):
    error = "bad_photo"
