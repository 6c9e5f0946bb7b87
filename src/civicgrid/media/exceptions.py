from civicgrid.kit.errors import BadRequest, NotFound


class BadPhoto(BadRequest):
    error = "bad_photo"


class PhotoNotFound(NotFound):
    def __init__(self, photo_id: int):
        super().__init__(
            f"照片 {photo_id} 不是此案件的照片", f"photo {photo_id} is not of this case"
        )


class BadDocument(BadRequest):
    error = "bad_document"
